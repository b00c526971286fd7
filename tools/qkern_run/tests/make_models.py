#!/usr/bin/env python3
"""Builds the test inputs of qkern_run's ctest: edited copies of .tflite files and input files.

  make_models.py float-tensor SRC DST INDEX     copy SRC with tensor INDEX (subgraph 0) typed FLOAT32
  make_models.py opcode SRC DST CODE            copy SRC with operator code 0 set to builtin CODE
  make_models.py truncate SRC DST LENGTH        the first LENGTH bytes of SRC (negative: drop -LENGTH)
  make_models.py corrupt SRC DST KIND           one targeted corruption (see CORRUPTIONS)
  make_models.py random-input DST SIZE SEED     SIZE pseudo-random bytes
  make_models.py bad-models DIR HELLO PERSON    every truncated and corrupt file the tests use

The edits walk the FlatBuffers structure with the few reads below (no flatbuffers package needed).
"""
import random
import struct
import sys


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def i32(b, o):
    return struct.unpack_from("<i", b, o)[0]


def field(b, table, index):
    """Absolute position of field `index` of the table at `table`, or None when absent."""
    vtable = table - i32(b, table)
    slot = 4 + 2 * index
    if slot + 2 > u16(b, vtable):
        return None
    offset = u16(b, vtable + slot)
    return table + offset if offset else None


def deref(b, pos):
    return pos + u32(b, pos)


def vector(b, table, index):
    """(position of the length prefix, element count) of a vector field."""
    pos = field(b, table, index)
    if pos is None:
        raise SystemExit(f"field {index} is absent")
    v = deref(b, pos)
    return v, u32(b, v)


def table_element(b, vec, i):
    return deref(b, vec + 4 + 4 * i)


def root(b):
    return u32(b, 0)


def subgraph0(b):
    vec, _ = vector(b, root(b), 2)
    return table_element(b, vec, 0)


def tensor(b, index):
    vec, n = vector(b, subgraph0(b), 0)
    if index >= n:
        raise SystemExit(f"tensor {index} does not exist ({n} tensors)")
    return table_element(b, vec, index)


def operator(b, index):
    vec, _ = vector(b, subgraph0(b), 3)
    return table_element(b, vec, index)


def float_tensor(b, index):
    pos = field(b, tensor(b, index), 1)
    if pos is None:
        raise SystemExit(f"tensor {index} has no type field (it is already FLOAT32)")
    b[pos] = 0  # TensorType.FLOAT32


def set_opcode(b, code):
    vec, _ = vector(b, root(b), 1)
    t = table_element(b, vec, 0)
    deprecated = field(b, t, 0)
    builtin = field(b, t, 3)
    if deprecated is None and builtin is None:
        raise SystemExit("operator code 0 stores no code")
    if deprecated is not None:
        b[deprecated] = min(code, 127)
    if builtin is not None:
        struct.pack_into("<i", b, builtin, code)


def first_constant_tensor(b):
    model = root(b)
    buffers, _ = vector(b, model, 4)
    vec, n = vector(b, subgraph0(b), 0)
    for i in range(n):
        t = table_element(b, vec, i)
        pos = field(b, t, 2)
        if pos is None:
            continue
        buf = table_element(b, buffers, u32(b, pos))
        if field(b, buf, 0) is not None:
            data, count = vector(b, buf, 0)
            if count > 0:
                return t, pos, data
    raise SystemExit("no constant tensor")


def corrupt(b, kind):
    if kind == "root-offset":          # the root table lies past the end of the file
        struct.pack_into("<I", b, 0, len(b) + 1000)
    elif kind == "identifier":         # not a TFLite flatbuffer
        b[4:8] = b"XXXX"
    elif kind == "tensors-length":     # the tensor vector claims 2^31 entries
        vec, _ = vector(b, subgraph0(b), 0)
        struct.pack_into("<I", b, vec, 0x7FFFFFFF)
    elif kind == "vtable":             # a tensor's vtable offset points outside the file
        struct.pack_into("<i", b, tensor(b, 0), -0x7FFFFFF0)
    elif kind == "vtable-size":        # a vtable claims fields beyond the end of the file
        t = tensor(b, 0)
        struct.pack_into("<H", b, t - i32(b, t), 0xFFFE)
    elif kind == "table-size":         # a table claims more bytes than the file has
        t = tensor(b, 0)
        struct.pack_into("<H", b, t - i32(b, t) + 2, 0xFFFF)
    elif kind == "shape-rank":         # a shape vector of rank 1000
        vec, _ = vector(b, tensor(b, 0), 0)
        struct.pack_into("<I", b, vec, 1000)
    elif kind == "negative-extent":    # an activation extent of -5
        vec, _ = vector(b, tensor(b, 0), 0)
        struct.pack_into("<i", b, vec + 4, -5)
    elif kind == "output-shape":       # tensor 7 (hello_world: op 0's output [1,16]) declared [1,15]
        vec, _ = vector(b, tensor(b, 7), 0)
        struct.pack_into("<i", b, vec + 8, 15)
    elif kind == "tensor-index":       # operator 0 reads tensor 99999
        vec, _ = vector(b, operator(b, 0), 1)
        struct.pack_into("<i", b, vec + 4, 99999)
    elif kind == "buffer-index":       # a constant tensor refers to buffer 99999
        _, pos, _ = first_constant_tensor(b)
        struct.pack_into("<I", b, pos, 99999)
    elif kind == "data-size":          # a constant's data is one byte short of its shape
        _, _, data = first_constant_tensor(b)
        struct.pack_into("<I", b, data, u32(b, data) - 1)
    elif kind == "opcode-index":       # operator 0 uses operator code 1000
        pos = field(b, operator(b, 0), 0)
        if pos is None:
            raise SystemExit("operator 0 has no opcode_index field")
        struct.pack_into("<I", b, pos, 1000)
    elif kind == "self-offset":        # an offset of 0 (points at itself)
        pos = field(b, subgraph0(b), 0)
        struct.pack_into("<I", b, pos, 0)
    else:
        raise SystemExit(f"unknown corruption {kind}")


CORRUPTIONS = ["root-offset", "identifier", "tensors-length", "vtable", "vtable-size", "table-size", "shape-rank",
               "negative-extent", "output-shape", "tensor-index", "buffer-index", "data-size", "opcode-index", "self-offset"]


HELLO_TRUNCATIONS = [0, 7, 8, 64, 1000, 2703]
PERSON_TRUNCATIONS = [100, 150000, 300000, 300567]


def bad_models(directory, hello, person):
    with open(hello, "rb") as f:
        hello_bytes = f.read()
    with open(person, "rb") as f:
        person_bytes = f.read()
    out = {}
    for n in HELLO_TRUNCATIONS:
        out[f"hello_world_truncated_{n}.tflite"] = hello_bytes[:n]
    for n in PERSON_TRUNCATIONS:
        out[f"person_detect_truncated_{n}.tflite"] = person_bytes[:n]
    for kind in CORRUPTIONS:
        if kind == "opcode-index":  # every hello_world operator uses code 0, stored as the default
            b = bytearray(person_bytes)
            corrupt(b, kind)
            out["person_detect_opcode-index.tflite"] = b
            continue
        b = bytearray(hello_bytes)
        corrupt(b, kind)
        out[f"hello_world_{kind}.tflite"] = b
    for name, data in out.items():
        with open(f"{directory}/{name}", "wb") as f:
            f.write(data)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "bad-models":
        bad_models(argv[2], argv[3], argv[4])
        return
    if cmd == "random-input":
        dst, size, seed = argv[2], int(argv[3]), int(argv[4])
        r = random.Random(seed)
        with open(dst, "wb") as f:
            f.write(bytes(r.randrange(256) for _ in range(size)))
        return
    src, dst, arg = argv[2], argv[3], argv[4]
    with open(src, "rb") as f:
        b = bytearray(f.read())
    if cmd == "float-tensor":
        float_tensor(b, int(arg))
    elif cmd == "opcode":
        set_opcode(b, int(arg))
    elif cmd == "truncate":
        b = b[: int(arg)]
    elif cmd == "corrupt":
        corrupt(b, arg)
    else:
        raise SystemExit(f"unknown command {cmd}")
    with open(dst, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main(sys.argv)
