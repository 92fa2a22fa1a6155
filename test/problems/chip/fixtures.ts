/** A hand-made netlist: macro M (20 x 10) with pins A (offset 5, 2) and B (-5, -2), a port P, a cluster Grp_0 with pin Grp_0/p. */
export const SMALL_NETLIST = `# comment line
node {
  name: "__metadata__"
  attr {
    key: "soft_macro_area_bloating_ratio"
    value {
      f: 2.0
    }
  }
}
node {
  name: "P"
  input: "M/A"
  input: "Grp_0/p"
  attr {
    key: "type"
    value {
      placeholder: "PORT"
    }
  }
  attr {
    key: "x"
    value {
      f: 0
    }
  }
  attr {
    key: "y"
    value {
      f: 50
    }
  }
}
node {
  name: "M"
  attr {
    key: "type"
    value {
      placeholder: "MACRO"
    }
  }
  attr {
    key: "width"
    value {
      f: 20
    }
  }
  attr {
    key: "height"
    value {
      f: 10
    }
  }
  attr {
    key: "x"
    value {
      f: 50
    }
  }
  attr {
    key: "y"
    value {
      f: 50
    }
  }
  attr {
    key: "orientation"
    value {
      placeholder: "N"
    }
  }
}
node {
  name: "M/A"
  attr {
    key: "type"
    value {
      placeholder: "MACRO_PIN"
    }
  }
  attr {
    key: "macro_name"
    value {
      placeholder: "M"
    }
  }
  attr {
    key: "x_offset"
    value {
      f: 5
    }
  }
  attr {
    key: "y_offset"
    value {
      f: 2
    }
  }
}
node {
  name: "M/B"
  input: "Grp_0/p"
  attr {
    key: "type"
    value {
      placeholder: "MACRO_PIN"
    }
  }
  attr {
    key: "macro_name"
    value {
      placeholder: "M"
    }
  }
  attr {
    key: "x_offset"
    value {
      f: -5
    }
  }
  attr {
    key: "y_offset"
    value {
      f: -2
    }
  }
  attr {
    key: "weight"
    value {
      f: 3
    }
  }
}
node {
  name: "Grp_0"
  attr {
    key: "type"
    value {
      placeholder: "macro"
    }
  }
  attr {
    key: "width"
    value {
      f: 10
    }
  }
  attr {
    key: "height"
    value {
      f: 10
    }
  }
  attr {
    key: "x"
    value {
      f: 80
    }
  }
  attr {
    key: "y"
    value {
      f: 20
    }
  }
}
node {
  name: "Grp_0/p"
  attr {
    key: "type"
    value {
      placeholder: "macro_pin"
    }
  }
  attr {
    key: "macro_name"
    value {
      placeholder: "Grp_0"
    }
  }
  attr {
    key: "x_offset"
    value {
      f: 0
    }
  }
  attr {
    key: "y_offset"
    value {
      f: 0
    }
  }
}
`;

export const SMALL_PLC = `# Placement file for Circuit Training
# Columns : 4  Rows : 2
# Width : 100.000  Height : 100.000
# Wirelength : 123.0
# Wirelength cost : 0.1234
# Congestion cost : 0.5
# Density cost : 0.25
# Routes per micron, hor : 10  ver : 20
# Routes used by macros, hor : 5  ver : 6
# Smoothing factor : 1
# Overlap threshold : 0.004
# node_index x y orientation fixed
0 0 50 - 1
1 50 50 S 0
4 80 20 N 0
`;
