#!/usr/bin/env python3
"""Writes the PNG fixtures of Tests/ParaRLWorldTests with a tiny pure-Python PNG encoder (zlib + struct), so the
reader is checked against files libpng did not write: 8-bit gray, gray+alpha, RGB, RGBA, 8-bit and 2-bit
palette, plus a truncated file and one with a bad CRC. png_fixtures.json gives each file's expected RGB bytes
(alpha composited onto black; only alpha 0 and 255 are used so no gamma question arises).

Run from the repository root: python3 tools/world/make_png_fixtures.py
"""
import json
import struct
import zlib
from pathlib import Path

OUT = Path("Tests/ParaRLWorldTests/Fixtures")
W, H = 5, 3


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(colour_type, bit_depth, rows, palette=None):
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, bit_depth, colour_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}

    def rgb_of(x, y):
        return (x * 60, y * 100, 255 - x * 20 - y * 7)

    def gray_of(x, y):
        return x * 50 + y * 20

    transparent = {(1, 1), (4, 0)}

    files = {}
    files["rgb.png"] = (png(2, 8, [bytes(v for x in range(W) for v in rgb_of(x, y)) for y in range(H)]),
                        [rgb_of(x, y) for y in range(H) for x in range(W)])
    files["rgba.png"] = (png(6, 8, [bytes(v for x in range(W) for v in rgb_of(x, y) + (0 if (x, y) in transparent else 255,))
                                    for y in range(H)]),
                         [(0, 0, 0) if (x, y) in transparent else rgb_of(x, y) for y in range(H) for x in range(W)])
    files["gray.png"] = (png(0, 8, [bytes(gray_of(x, y) for x in range(W)) for y in range(H)]),
                         [(gray_of(x, y),) * 3 for y in range(H) for x in range(W)])
    files["gray_alpha.png"] = (png(4, 8, [bytes(v for x in range(W) for v in (gray_of(x, y), 0 if (x, y) in transparent else 255))
                                          for y in range(H)]),
                               [(0, 0, 0) if (x, y) in transparent else (gray_of(x, y),) * 3 for y in range(H) for x in range(W)])
    palette = [(220, 30, 30), (30, 70, 220), (250, 225, 40), (15, 15, 15)]
    index = lambda x, y: (x + 2 * y) % 4
    files["palette.png"] = (png(3, 8, [bytes(index(x, y) for x in range(W)) for y in range(H)], palette),
                            [palette[index(x, y)] for y in range(H) for x in range(W)])

    def pack2(values):  # 2-bit samples, most significant first, padded to a byte
        out = bytearray()
        for i in range(0, len(values), 4):
            group = values[i:i + 4] + [0] * (4 - len(values[i:i + 4]))
            out.append(group[0] << 6 | group[1] << 4 | group[2] << 2 | group[3])
        return bytes(out)

    files["palette2.png"] = (png(3, 2, [pack2([index(x, y) for x in range(W)]) for y in range(H)], palette),
                             [palette[index(x, y)] for y in range(H) for x in range(W)])

    for name, (data, pixels) in files.items():
        (OUT / name).write_bytes(data)
        expected[name] = {"width": W, "height": H, "rgb": [v for p in pixels for v in p]}

    good = files["rgb.png"][0]
    (OUT / "truncated.png").write_bytes(good[: len(good) - 30])
    bad = bytearray(good)
    idat = bad.find(b"IDAT")
    bad[idat + 6] ^= 0xFF  # corrupt the compressed data; the chunk CRC no longer matches
    (OUT / "bad_crc.png").write_bytes(bytes(bad))
    (OUT / "png_fixtures.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
