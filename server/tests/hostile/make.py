#!/usr/bin/env python3
"""Writes the hostile corpus beside this script: files made to hurt an extractor (deep HTML,
zip bombs of each office format, a self-referencing PDF, a huge sheet, invalid UTF-8, empty
files of every type), and two ordinary files that must still be processed. Deterministic: the
files are checked in; run it again only to change them."""
import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
os.makedirs(OUT, exist_ok=True)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def zipped(parts, level=9):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            if isinstance(data, str):
                data = data.encode()
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# Ordinary files: the rest of the batch is processed.
write("ok.txt", b"survivor-needle: an ordinary note that must still be found\n")
write("ok.html", b"<html><body><p>survivor-html-needle in a page</p></body></html>")

# 1. HTML nested 25,000 deep (about 125 KB): a recursive walk overflows its thread's stack.
write("deep.html", b"<html><body>" + b"<div>" * 25000 + b"deep-needle" + b"</div>" * 25000 + b"</body></html>")

# 2. Zip bombs: one part, or several, that inflate far past any limit (zeros compress ~1000:1).
# Office files open as Office writes them ([Content_Types].xml, _rels/.rels, then the
# document's own folder), so that content sniffing takes them for what they claim to be.
MAIN = {"word": [], "ppt": [("ppt/presentation.xml", "<p:presentation/>")],
        "xl": [("xl/workbook.xml", "<workbook/>")]}


def ooxml(folder, parts):
    head = [("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<Relationships/>"),
            (f"{folder}/_rels/x.rels", "<Relationships/>")] + MAIN[folder]
    return zipped(head + parts)


zeros = bytes(80 * 1024 * 1024)
write("bomb.docx", ooxml("word", [("word/document.xml", zeros)]))
write("bomb.pptx", ooxml("ppt", [("ppt/slides/slide1.xml", zeros)]))
sixty = bytes(60 * 1024 * 1024)
write("bomb.xlsx", ooxml("xl", [(f"xl/worksheets/sheet{i}.xml", sixty) for i in range(1, 6)]))
for ext, mime in [("odt", "text"), ("ods", "spreadsheet"), ("odp", "presentation")]:
    write(f"bomb.{ext}", zipped([("mimetype", f"application/vnd.oasis.opendocument.{mime}"), ("content.xml", zeros)], level=9))
# Thousands of parts, each small.
write("parts.docx", ooxml("word", [("word/document.xml", "<w:document/>")]
                            + [(f"word/header{i}.xml", "<w:hdr/>") for i in range(2500)]))

# 3. A PDF whose page tree is its own child, and whose content stream is its own resource.
pdf = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /Resources << /XObject << /X 4 0 R >> >> /Contents 4 0 R >> endobj
4 0 obj << /Type /XObject /Subtype /Form /Resources << /XObject << /X 4 0 R >> >> /Length 8 >>
stream
/X Do Q
endstream endobj
trailer << /Root 1 0 R /Size 5 >>
%%EOF
"""
write("loop.pdf", pdf)

# 4. A sheet of 100,000 rows (about 7 MB of XML, under the limits): slow, but it must finish.
rows = "".join(f'<row r="{i}"><c t="inlineStr"><is><t>cell{i % 97}</t></is></c></row>' for i in range(100000))
write("huge.xlsx", ooxml("xl", [("xl/worksheets/sheet1.xml", f'<worksheet><sheetData>{rows}</sheetData></worksheet>')]))

# 5. Invalid UTF-8 in every text format.
bad = b"caf\xe9 \xff\xfe\xfd \xc3\x28 \xed\xa0\x80 invalid-utf8-needle \x80\x81"
write("bad.txt", bad)
write("bad.md", b"# " + bad)
write("bad.csv", b"a,b\n" + bad + b",x\n")
write("bad.json", b'{"k": "' + bad + b'"}')
write("bad.html", b"<html><body><p>" + bad + b"</p></body></html>")
write("bad.eml", b"From: a@example.com\r\nTo: b@example.com\r\nSubject: " + bad + b"\r\n\r\n" + bad + b"\r\n")

# 6. An empty file of each type.
for ext in ["txt", "md", "csv", "json", "html", "eml", "pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp"]:
    write(f"empty.{ext}", b"")
