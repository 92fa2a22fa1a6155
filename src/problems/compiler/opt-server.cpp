// opt-server: LLVM 14's `opt -S -preserve-ll-uselistorder -passes=<pipeline>` as a long-lived
// process, so a pass application costs the pass and not the ~50-100 ms of starting opt and
// loading libLLVM. It builds the pass manager the way opt's NewPMDriver (LLVM 14) does: a
// TargetMachine for the module's triple (CPU and features empty, CodeGenOpt::None, as opt without
// -O flags), the TargetLibraryInfo of the triple, the default alias-analysis pipeline registered
// before the PassBuilder's analyses, the input verified first and the output verified after the
// pipeline. (opt also puts a `verify` before the pipeline, which checks the module verifyModule
// has just passed a second time: it can only pass again and changes nothing, so it is left out;
// the verifier was about a twentieth of a request's time.) The selfopt test suite checks that
// its output is byte-identical to opt's.
//
// Protocol over two FIFOs (argv[1]: requests, read; argv[2]: responses, written; argv[3]: seconds
// a request may take before SIGALRM ends the process, as opt's caller would kill a hung opt;
// argv[4], optional, default 15: seconds the client may take to open its ends of the FIFOs):
//   request:  "P <pipeline bytes> <ir bytes>\n" <pipeline> <ir>
//   response: "<status> <bytes>\n" <payload>   status 0: the printed module; 1: an error message;
//             2: an error message, and the input module itself was refused (it does not parse or
//             verify), so any pipeline would fail on it the same way (the client remembers it)
// A pass that crashes takes the process down; the client records a failure and restarts it.
#include "llvm/ADT/Triple.h"
#include "llvm/Analysis/AliasAnalysis.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/IRReader/IRReader.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <memory>
#include <string>

using namespace llvm;

static bool readExactly(FILE *in, std::string &s, size_t n) {
  s.resize(n);
  return n == 0 || fread(&s[0], 1, n, in) == n;
}

static int run(const std::string &pipeline, const std::string &ir, std::string &out) {
  LLVMContext ctx;
  SMDiagnostic diag;
  std::unique_ptr<MemoryBuffer> buf = MemoryBuffer::getMemBuffer(ir, "<stdin>", false);
  std::unique_ptr<Module> M = parseIR(buf->getMemBufferRef(), diag, ctx);
  raw_string_ostream os(out);
  if (!M) {
    diag.print("opt", os);
    return 2;
  }
  if (verifyModule(*M, &os)) {
    os << "opt: <stdin>: error: input module is broken!\n";
    return 2;
  }
  Triple triple(M->getTargetTriple());
  std::string err;
  const Target *target = TargetRegistry::lookupTarget(triple.getTriple(), err);
  std::unique_ptr<TargetMachine> TM;
  if (target) TM.reset(target->createTargetMachine(triple.getTriple(), "", "", TargetOptions(), None, None, CodeGenOpt::None));

  LoopAnalysisManager LAM;
  FunctionAnalysisManager FAM;
  CGSCCAnalysisManager CGAM;
  ModuleAnalysisManager MAM;
  PipelineTuningOptions PTO;
  PassBuilder PB(TM.get(), PTO);
  AAManager AA;
  if (auto E = PB.parseAAPipeline(AA, "default")) {
    os << "opt: " << toString(std::move(E)) << "\n";
    return 1;
  }
  FAM.registerPass([&] { return std::move(AA); });
  TargetLibraryInfoImpl TLII(triple);
  FAM.registerPass([&] { return TargetLibraryAnalysis(TLII); });
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);

  ModulePassManager MPM;
  if (auto E = PB.parsePassPipeline(MPM, pipeline)) {
    os << "opt: " << toString(std::move(E)) << "\n";
    return 1;
  }
  MPM.addPass(VerifierPass());
  MPM.run(*M, MAM);
  M->print(os, nullptr, /*ShouldPreserveUseListOrder=*/true);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: opt-server REQUEST_FIFO RESPONSE_FIFO TIMEOUT_SECONDS [OPEN_SECONDS]\n");
    return 2;
  }
  InitializeAllTargetInfos();
  InitializeAllTargets();
  InitializeAllTargetMCs();
  // Opening a FIFO blocks until the other side opens it. The client opens its ends right after
  // starting this process, already waiting when we get here; a client killed in between (its
  // process group SIGKILLed) never comes, and without a deadline the server slept in open() for
  // ever. SIGALRM ends it; a slow client then finds the ends opened by the wrapping shell and
  // a failed first request, and starts a new server.
  alarm((unsigned)(argc == 5 ? atoi(argv[4]) : 15));
  FILE *in = fopen(argv[1], "rb");
  FILE *out = fopen(argv[2], "wb");
  alarm(0);
  if (!in || !out) return 2;
  // Whole requests and answers per system call where they fit (stdio's default is 4 KB, so a
  // 20 KB module went over in five writes, each waking the other side).
  setvbuf(in, nullptr, _IOFBF, 1 << 16);
  setvbuf(out, nullptr, _IOFBF, 1 << 16);
  char header[128];
  while (fgets(header, sizeof header, in)) {
    size_t plen = 0, ilen = 0;
    if (sscanf(header, "P %zu %zu", &plen, &ilen) != 2) return 3;
    std::string pipeline, ir, result;
    if (!readExactly(in, pipeline, plen) || !readExactly(in, ir, ilen)) return 3;
    alarm((unsigned)atoi(argv[3]));
    int status = run(pipeline, ir, result);
    alarm(0);
    fprintf(out, "%d %zu\n", status, result.size());
    fwrite(result.data(), 1, result.size(), out);
    fflush(out);
  }
  return 0;
}
