#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/): small valid inputs of every
kind each target reads, for libFuzzer to mutate. Deterministic; the seeds are checked in."""
import base64
import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def zipped(parts):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# extract: the first byte picks the name (see fuzz_targets/extract.rs), the rest is the file.
NAMES = ["txt", "md", "csv", "json", "html", "pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "eml", "bin"]
files = {
    "txt": b"plain words, caf\xc3\xa9\n",
    "md": b"# Title\n\nSome *text*.\n",
    "csv": b"a,b\n1,two\n",
    "json": b'{"k": ["v", 1, null]}',
    "html": b"<html><head><style>x{}</style></head><body><div><p>hi</p><script>s()</script></div></body></html>",
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "docx": zipped([("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<Relationships/>"),
                    ("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>hello</w:t></w:r></w:p></w:body></w:document>")]),
    "xlsx": zipped([("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<workbook/>"),
                    ("xl/sharedStrings.xml", "<sst><si><t>cell</t></si></sst>"),
                    ("xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c><v>1</v></c></row></sheetData></worksheet>")]),
    "pptx": zipped([("[Content_Types].xml", "<Types/>"), ("ppt/presentation.xml", "<p:presentation/>"),
                    ("ppt/slides/slide1.xml", "<p:sld><a:p><a:r><a:t>slide</a:t></a:r></a:p></p:sld>")]),
    "odt": zipped([("mimetype", "application/vnd.oasis.opendocument.text"),
                   ("content.xml", "<office:document-content><text:p>para<text:s/>x</text:p></office:document-content>")]),
    "ods": zipped([("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
                   ("content.xml", "<office:document-content><text:p>cell</text:p></office:document-content>")]),
    "odp": zipped([("mimetype", "application/vnd.oasis.opendocument.presentation"),
                   ("content.xml", "<office:document-content><text:h>slide</text:h></office:document-content>")]),
    "eml": b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
    "bin": bytes(range(256)),
}
for i, ext in enumerate(NAMES):
    put("extract", ext, bytes([i]) + files[ext])

# cursor: cursors as the server writes them, and some that it refuses.
for name, raw in [("children", "v1|children:fuzz|42"), ("keyed", "v1|children:fuzz|7|title key"),
                  ("other", "v1|children:other|1"), ("negative", "v1|children:fuzz|-5")]:
    put("cursor", name, base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))
put("cursor", "garbage", "not base64 !")

# query: the simple form and the advanced form.
for i, q in enumerate(['annual report', '"exact phrase" -draft', 'rep* OR summ*', 'a AND b OR c',
                       '{"and": [{"text_contains": [{"var": "extracted_text"}, "word"]}], "and_not": [{"text_contains": [{"var": "title"}, "x*"]}]}',
                       '{"or": [{"text_contains": [{"var": "extracted_text"}, "a"]}, {"and": [{"text_contains": [{"var": "extracted_text"}, "b c"]}]}]}']):
    put("query", f"q{i}", q)

# json_body: the first byte's parity says whether a form Content-Type came with it.
for i, body in enumerate([b'{"@type": "S3Datasource", "title": "x", "bucket": "b-b"}', b"  ", b"[1, 2, {\"a\": null}]",
                          b'{"query": "x", "filters": {"path_prefix": "/a"}}', b"{not json"]):
    put("json_body", f"b{i}", bytes([i]) + body)
