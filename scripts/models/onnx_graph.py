"""A small ONNX graph builder shared by the fixture generators in this folder.

Subclasses set PRODUCER (written into each model) and add their own shorthands.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSET = 17
IR_VERSION = 8


class Graph:
    PRODUCER = "onnx_graph.py"

    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.outputs = []
        self.count = 0

    def input(self, name, elem, dims):
        self.inputs.append(helper.make_tensor_value_info(name, elem, dims))
        return name

    def output(self, name, elem, dims):
        self.outputs.append(helper.make_tensor_value_info(name, elem, dims))

    def const(self, value, dtype, hint="c"):
        self.count += 1
        name = f"{hint}_{self.count}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def f(self, value):
        return self.const(value, np.float32, "f")

    def i(self, value):
        return self.const(value, np.int64, "i")

    def op(self, op_type, *inputs, out=None, **attrs):
        self.count += 1
        name = out or f"{op_type.lower()}_{self.count}"
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [name], name=f"n{self.count}_{op_type}", **attrs)
        )
        return name

    def model(self, doc):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name=self.PRODUCER,
            producer_version="1",
            doc_string=doc,
        )
        m.ir_version = IR_VERSION
        onnx.checker.check_model(m)
        return m
