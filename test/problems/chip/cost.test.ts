import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPath } from '../../../src/core/data.js';
import { readNetlist } from '../../../src/problems/chip/netlist.js';
import { readPlc } from '../../../src/problems/chip/plc.js';
import { ProxyCostEvaluator } from '../../../src/problems/chip/cost.js';

const data = new DataPath();
const netPath = data.find('chip/mp_ariane133_ng45/netlist.pb.txt.gz');

for (const name of ['initial', 'legalized']) {
  test(`Ariane133 ${name}.plc header costs reproduced within 1e-3`, { skip: netPath === undefined ? 'chip data not found' : false }, () => {
    const nl = readNetlist(netPath!);
    const plc = readPlc(data.find(`chip/mp_ariane133_ng45/${name}.plc`)!, nl);
    const ev = new ProxyCostEvaluator(nl, plc.header);
    const c = ev.evaluate(plc.placement);
    console.log(name, c, plc.header);
    assert.ok(Math.abs(c.wirelengthCost - plc.header.wirelengthCost) < 1e-3);
    assert.ok(Math.abs(c.densityCost - plc.header.densityCost) < 1e-3);
    assert.ok(Math.abs(c.congestionCost - plc.header.congestionCost) < 1e-3);
  });
}
