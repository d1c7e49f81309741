//! Text extraction by media type, detected from the content (magic numbers, then a look at the
//! text), with the file name only to tell text formats apart that content cannot (CSV from
//! plain text). Plain text and Markdown, HTML (text only: no scripts or styles), PDF, Office
//! Open XML (docx, xlsx, pptx), OpenDocument (odt, ods, odp), e-mail (.eml, attachments
//! extracted as their own sections), CSV and JSON. Anything else keeps its metadata only.
//! Text may be UTF-8, UTF-16 with a byte-order mark, or single-byte Windows-1252/Latin-1
//! (told apart by its first 4 KB).
//!
//! Pure and synchronous: the pipeline runs it on a blocking thread under a time limit.

use std::io::Read;

/// Content larger than this is not extracted ("too large"); its metadata stays searchable.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Extracted text is cut at this many bytes (the rest is not indexed).
pub const MAX_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// What extraction made of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Extracted {
    Text {
        media_type: String,
        body: String,
    },
    /// A format without text to extract (images, archives, unknown binaries).
    MetadataOnly {
        media_type: String,
    },
    Failed {
        media_type: String,
        reason: String,
    },
}

impl Extracted {
    pub fn media_type(&self) -> &str {
        match self {
            Extracted::Text { media_type, .. }
            | Extracted::MetadataOnly { media_type }
            | Extracted::Failed { media_type, .. } => media_type,
        }
    }
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const ODT: &str = "application/vnd.oasis.opendocument.text";
const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";
const ODP: &str = "application/vnd.oasis.opendocument.presentation";

/// The media type of `bytes` named `name`: from the content first.
pub fn detect(name: &str, bytes: &[u8]) -> String {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"%PDF-") {
        return "application/pdf".into();
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return match ooxml_kind(bytes) {
            Some(t) => t.into(),
            None => "application/zip".into(),
        };
    }
    if let Some(t) = infer::get(bytes) {
        return t.mime_type().into();
    }
    let head = &bytes[..bytes.len().min(TEXT_SAMPLE)];
    let Some(encoding) = text_encoding(head) else {
        return "application/octet-stream".into();
    };
    let text = decode(head, encoding);
    if text.contains('\0') {
        return "application/octet-stream".into();
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "text/html".into();
    }
    if looks_like_mail(trimmed) {
        return "message/rfc822".into();
    }
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && match encoding {
            Encoding::Utf8 => serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
            _ => serde_json::from_str::<serde_json::Value>(&decode(bytes, encoding)).is_ok(),
        }
    {
        return "application/json".into();
    }
    match ext.as_str() {
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "eml" => "message/rfc822",
        _ => "text/plain",
    }
    .into()
}

/// Extracts the text of `bytes` named `name`.
pub fn extract(name: &str, bytes: &[u8]) -> Extracted {
    extract_as(detect(name, bytes), bytes)
}

/// The formats whose text is the content itself (decoded as UTF-8): extracting them takes time
/// in proportion to their size, with nothing in them that could make it take longer.
fn is_plain(media_type: &str) -> bool {
    matches!(
        media_type,
        "text/plain" | "text/markdown" | "text/csv" | "application/json"
    )
}

/// [`extract`] if `bytes` are of a plain text format (see [`is_plain`]), `None` for the others,
/// whose extraction should run where a time limit can leave it behind.
pub fn extract_plain(name: &str, bytes: &[u8]) -> Option<Extracted> {
    let media_type = detect(name, bytes);
    is_plain(&media_type).then(|| extract_as(media_type, bytes))
}

fn extract_as(media_type: String, bytes: &[u8]) -> Extracted {
    if bytes.len() > MAX_INPUT_BYTES {
        return Extracted::Failed {
            media_type,
            reason: format!(
                "too large: {} MB, over the {} MB extraction limit",
                bytes.len() / (1024 * 1024),
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        };
    }
    let result = match media_type.as_str() {
        m if is_plain(m) => Ok(Some(text_of(bytes))),
        "text/html" => Ok(Some(html_text(&text_of(bytes)))),
        "application/pdf" => pdf_text(bytes).map(Some),
        DOCX | XLSX | PPTX => ooxml_text(&media_type, bytes).map(Some),
        ODT | ODS | ODP => opendocument_text(bytes).map(Some),
        "message/rfc822" => mail_text(bytes).map(Some),
        _ => Ok(None),
    };
    match result {
        Ok(Some(mut body)) => {
            if body.len() > MAX_TEXT_BYTES {
                let mut cut = MAX_TEXT_BYTES;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
            }
            Extracted::Text { media_type, body }
        }
        Ok(None) => Extracted::MetadataOnly { media_type },
        Err(reason) => Extracted::Failed { media_type, reason },
    }
}

/// How much of a file's start [`detect`] looks at to tell text from binary.
const TEXT_SAMPLE: usize = 4096;

/// How a text file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// With a byte-order mark, as Windows tools save "Unicode" text.
    Utf16Le,
    Utf16Be,
    /// Single-byte text of older Windows and Latin-1 tools (Latin-1 is its subset but for
    /// 0x80-0x9F, which are control characters there and never in text).
    Windows1252,
}

/// The encoding of a file that starts with `head`, if it is text: UTF-16 with a byte-order
/// mark; UTF-8 (a character may be cut at the end of the sample); else single-byte text if
/// it has no NULs and hardly any control characters (at most one byte in a hundred: binary
/// data has about one in eight). `None` for binary content.
fn text_encoding(head: &[u8]) -> Option<Encoding> {
    match head {
        [0xFF, 0xFE, ..] => return Some(Encoding::Utf16Le),
        [0xFE, 0xFF, ..] => return Some(Encoding::Utf16Be),
        _ => {}
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Some(Encoding::Utf8),
        Err(e) if e.valid_up_to() + 4 >= head.len() => return Some(Encoding::Utf8),
        Err(_) => {}
    }
    let controls = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
        .count();
    (!head.contains(&0) && controls * 100 <= head.len()).then_some(Encoding::Windows1252)
}

/// `bytes` as text in `encoding` (valid UTF-8 as it is, without a copy); what cannot be
/// decoded becomes U+FFFD. A UTF-16 byte-order mark is dropped.
fn decode(bytes: &[u8], encoding: Encoding) -> std::borrow::Cow<'_, str> {
    let codec = match encoding {
        // Validating first is several times quicker than the lossy decoder, and text is
        // nearly always valid.
        Encoding::Utf8 => {
            return match std::str::from_utf8(bytes) {
                Ok(text) => std::borrow::Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            };
        }
        Encoding::Utf16Le => encoding_rs::UTF_16LE,
        Encoding::Utf16Be => encoding_rs::UTF_16BE,
        Encoding::Windows1252 => encoding_rs::WINDOWS_1252,
    };
    codec.decode_with_bom_removal(bytes).0
}

/// The text of a text file, in the encoding its start shows (UTF-8 when unsure).
fn text_of(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(TEXT_SAMPLE)];
    decode(bytes, text_encoding(head).unwrap_or(Encoding::Utf8)).into_owned()
}

fn looks_like_mail(text: &str) -> bool {
    let mut headers = 0;
    for line in text.lines().take(40) {
        if line.is_empty() {
            break;
        }
        let name = line.split_once(':').map(|(n, _)| n.to_ascii_lowercase());
        if matches!(
            name.as_deref(),
            Some("from" | "to" | "subject" | "date" | "message-id" | "mime-version" | "received")
        ) {
            headers += 1;
        }
    }
    headers >= 2
}

/// The visible text of an HTML document: no scripts, styles or templates.
pub fn html_text(html: &str) -> String {
    use scraper::{Html, Node};
    /// Elements deeper than this are not read: a document of 100 KB of `<div>` nests 20,000
    /// deep, and nothing a person reads is nested like that.
    const MAX_DEPTH: usize = 512;
    /// Nodes visited at most: the rest of a larger document is left out.
    const MAX_NODES: usize = 2_000_000;
    let doc = Html::parse_document(html);
    let mut out = String::new();
    // Walked with a stack of its own (no recursion, so no depth can overflow the thread's):
    // a node's children, then the line break a block element ends with.
    enum Step<'a> {
        Visit(ego_tree::NodeRef<'a, Node>, usize),
        EndBlock,
    }
    let mut stack: Vec<Step<'_>> = doc
        .root_element()
        .children()
        .rev()
        .map(|c| Step::Visit(c, 1))
        .collect();
    let mut visited = 0usize;
    while let Some(step) = stack.pop() {
        let (node, depth) = match step {
            Step::EndBlock => {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                continue;
            }
            Step::Visit(node, depth) => (node, depth),
        };
        visited += 1;
        if visited > MAX_NODES {
            break;
        }
        match node.value() {
            Node::Text(t) => {
                let t = t.trim();
                if !t.is_empty() {
                    if !out.is_empty() && !out.ends_with(['\n', ' ']) {
                        out.push(' ');
                    }
                    out.push_str(t);
                }
            }
            Node::Element(e) => {
                if matches!(e.name(), "script" | "style" | "noscript" | "template")
                    || depth >= MAX_DEPTH
                {
                    continue;
                }
                let block = matches!(
                    e.name(),
                    "p" | "div"
                        | "br"
                        | "li"
                        | "tr"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "h5"
                        | "h6"
                        | "section"
                        | "article"
                        | "title"
                        | "pre"
                        | "table"
                );
                if block {
                    stack.push(Step::EndBlock);
                }
                stack.extend(node.children().rev().map(|c| Step::Visit(c, depth + 1)));
            }
            _ => {}
        }
    }
    out
}

fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    // Encrypted documents are reported as such (pdf-extract would only say it failed).
    match lopdf::Document::load_mem(bytes) {
        Ok(doc) if doc.is_encrypted() => return Err("encrypted".into()),
        Ok(_) => {}
        Err(lopdf::Error::Decryption(_)) => return Err("encrypted".into()),
        Err(e) => return Err(format!("corrupt: {e}")),
    }
    // The PDF parser panics on some malformed files; that is a corrupt file, not a crash.
    match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(format!("corrupt: {e}")),
        Err(_) => Err("corrupt: the PDF could not be parsed".into()),
    }
}

/// The office format of a zip: Office Open XML by its main part, OpenDocument by its
/// `mimetype` entry (LibreOffice's own files).
fn ooxml_kind(bytes: &[u8]) -> Option<&'static str> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let names: Vec<&str> = zip.file_names().collect();
    if names.contains(&"mimetype") {
        let mut declared = String::new();
        zip.by_name("mimetype")
            .ok()?
            .take(100)
            .read_to_string(&mut declared)
            .ok()?;
        return [ODT, ODS, ODP].into_iter().find(|t| declared.trim() == *t);
    }
    if names.contains(&"word/document.xml") {
        Some(DOCX)
    } else if names.contains(&"xl/workbook.xml") {
        Some(XLSX)
    } else if names.contains(&"ppt/presentation.xml") {
        Some(PPTX)
    } else {
        None
    }
}

/// The most parts of a zip-based document (docx, xlsx, pptx, OpenDocument) that are read.
const MAX_ZIP_PARTS: usize = 2_000;
/// The most bytes all of a zip-based document's parts may inflate to, together: a zip bomb
/// (a few KB that inflate to gigabytes) fails at this instead of filling the memory.
const MAX_ZIP_INFLATED: u64 = 256 * 1024 * 1024;

/// Opens a zip-based document, refusing one with more entries than anything real has.
fn open_zip(bytes: &[u8]) -> Result<zip::ZipArchive<std::io::Cursor<&[u8]>>, String> {
    let zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("corrupt: {e}"))?;
    if zip.len() > MAX_ZIP_PARTS * 10 {
        return Err(format!(
            "too large: {} parts in one document, over the limit of {}",
            zip.len(),
            MAX_ZIP_PARTS * 10
        ));
    }
    Ok(zip)
}

/// Reads one part, within what is left of the document's `budget` of inflated bytes.
fn read_part(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    budget: &mut u64,
) -> Result<Vec<u8>, String> {
    let mut xml = Vec::new();
    let limit = (*budget).min(MAX_INPUT_BYTES as u64);
    zip.by_name(name)
        .map_err(|e| format!("corrupt: {e}"))?
        .take(limit + 1)
        .read_to_end(&mut xml)
        .map_err(|e| format!("corrupt: {e}"))?;
    if xml.len() as u64 > limit {
        return Err(format!(
            "too large: its parts inflate to more than {} MB (a zip bomb?)",
            limit / (1024 * 1024)
        ));
    }
    *budget -= xml.len() as u64;
    Ok(xml)
}

fn ooxml_text(media_type: &str, bytes: &[u8]) -> Result<String, String> {
    let mut zip = open_zip(bytes)?;
    let mut parts: Vec<String> = zip
        .file_names()
        .filter(|n| match media_type {
            DOCX => {
                *n == "word/document.xml"
                    || n.starts_with("word/header")
                    || n.starts_with("word/footer")
            }
            XLSX => *n == "xl/sharedStrings.xml" || n.starts_with("xl/worksheets/sheet"),
            _ => n.starts_with("ppt/slides/slide") && n.ends_with(".xml"),
        })
        .map(str::to_owned)
        .collect();
    // Slides and sheets in their natural order (slide2 before slide10).
    parts.sort_by_key(|n| {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        (digits.len(), digits, n.clone())
    });
    if parts.len() > MAX_ZIP_PARTS {
        return Err(format!(
            "too large: {} parts to read, over the limit of {MAX_ZIP_PARTS}",
            parts.len()
        ));
    }
    let mut out = String::new();
    let mut budget = MAX_ZIP_INFLATED;
    for name in parts {
        let xml = read_part(&mut zip, &name, &mut budget)?;
        let text = match media_type {
            DOCX => xml_text(&xml, &[b"t"], &[b"p", b"tab", b"br"]),
            // Sheets: inline strings and values (cells of shared strings hold only an index;
            // the strings themselves come from their own part).
            XLSX if name.starts_with("xl/worksheets/") => xml_text(&xml, &[b"t", b"v"], &[b"row"]),
            XLSX => xml_text(&xml, &[b"t"], &[b"si"]),
            _ => xml_text(&xml, &[b"t"], &[b"p"]),
        }?;
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

/// The text of an OpenDocument text, spreadsheet or presentation: its paragraphs and headings
/// (cells and slides hold theirs), in `content.xml`.
fn opendocument_text(bytes: &[u8]) -> Result<String, String> {
    let mut zip = open_zip(bytes)?;
    let xml = read_part(&mut zip, "content.xml", &mut { MAX_ZIP_INFLATED })?;
    // `<text:s/>` is a space, `<text:tab/>` a tab, `<text:line-break/>` a line break.
    xml_text(
        &xml,
        &[b"p", b"h"],
        &[b"p", b"h", b"s", b"tab", b"line-break"],
    )
}

/// Text inside elements named `text` (local names), a line break after each of `breaks`.
fn xml_text(xml: &[u8], text: &[&[u8]], breaks: &[&[u8]]) -> Result<String, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = String::new();
    let mut depth_in_text = 0usize;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if text.contains(&e.local_name().as_ref()) => {
                depth_in_text += 1;
            }
            Ok(Event::End(e)) => {
                let name = e.local_name();
                if text.contains(&name.as_ref()) {
                    depth_in_text = depth_in_text.saturating_sub(1);
                    out.push(' ');
                }
                if breaks.contains(&name.as_ref()) {
                    out.push('\n');
                }
            }
            Ok(Event::Empty(e)) if breaks.contains(&e.local_name().as_ref()) => {
                out.push('\n');
            }
            Ok(Event::Text(t)) if depth_in_text > 0 => {
                let s = t.unescape().map_err(|e| format!("corrupt: {e}"))?;
                out.push_str(&s);
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("corrupt: {e}")),
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// An e-mail: its headers people search for, its text, and each attachment's text in its own
/// section.
fn mail_text(bytes: &[u8]) -> Result<String, String> {
    use mail_parser::{MessageParser, MimeHeaders};
    let msg = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| "corrupt: not an e-mail message".to_string())?;
    let mut out = String::new();
    let addresses = |a: Option<&mail_parser::Address<'_>>| {
        a.map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} {}",
                        x.name().unwrap_or_default(),
                        x.address().unwrap_or_default()
                    )
                    .trim()
                    .to_owned()
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    out.push_str(&format!("From: {}\n", addresses(msg.from())));
    out.push_str(&format!("To: {}\n", addresses(msg.to())));
    out.push_str(&format!(
        "Subject: {}\n\n",
        msg.subject().unwrap_or_default()
    ));
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            out.push_str(&t);
            out.push('\n');
        }
    }
    if msg.text_body_count() == 0 {
        for i in 0..msg.html_body_count() {
            if let Some(h) = msg.body_html(i) {
                out.push_str(&html_text(&h));
                out.push('\n');
            }
        }
    }
    for att in msg.attachments() {
        let name = att.attachment_name().unwrap_or("attachment");
        let inner = extract(name, att.contents());
        if let Extracted::Text { body, .. } = inner {
            out.push_str(&format!("\n--- Attachment: {name}\n{body}\n"));
        } else {
            out.push_str(&format!("\n--- Attachment: {name}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page nested thousands deep is walked on a small stack: the walk keeps a stack of its
    /// own (a recursive one overflowed the thread's and aborted the process).
    #[test]
    fn deep_html_does_not_overflow_the_stack() {
        let depth = 3000;
        let html = format!(
            "<html><body>{}deep-needle{}</body></html>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let text = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || html_text(&html))
            .unwrap()
            .join()
            .expect("no stack overflow");
        // Past the depth cap nothing more is read, and nothing breaks.
        assert!(!text.contains("deep-needle"), "{}", text.len());
        let shallow =
            html_text("<html><body><div><p>kept</p></div><script>x</script></body></html>");
        assert_eq!(shallow.trim(), "kept");
    }

    #[test]
    fn zip_bombs_fail_as_too_large() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file("mimetype", o).unwrap();
            std::io::Write::write_all(&mut z, ODT.as_bytes()).unwrap();
            z.start_file("content.xml", o).unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..70 {
                std::io::Write::write_all(&mut z, &zeros).unwrap();
            }
            z.finish().unwrap();
        }
        let bytes = buf.into_inner();
        assert!(bytes.len() < 1 << 20, "a bomb is small: {}", bytes.len());
        match extract("bomb.odt", &bytes) {
            Extracted::Failed { reason, .. } => assert!(reason.contains("too large"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_formats_are_told_apart_by_content_first() {
        assert_eq!(detect("a.txt", b"<!DOCTYPE html><p>x</p>"), "text/html");
        assert_eq!(detect("notes", b"{\"a\": 1}"), "application/json");
        assert_eq!(detect("a.csv", b"a,b\n1,2\n"), "text/csv");
        assert_eq!(detect("a.md", b"# Title\n"), "text/markdown");
        assert_eq!(
            detect("mail.txt", b"From: a@b.c\nTo: d@e.f\nSubject: hi\n\nbody"),
            "message/rfc822"
        );
        assert_eq!(detect("x.txt", b"%PDF-1.4 ..."), "application/pdf");
        assert_eq!(
            detect("x.txt", b"\x00\x01\x02binary"),
            "application/octet-stream"
        );
        assert_eq!(
            detect("img.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            "image/png"
        );
    }

    #[test]
    fn text_is_read_in_utf16_and_windows_1252_too() {
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "<html><body>Grüße</body></html>"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(detect("page.txt", &utf16le), "text/html");
        assert_eq!(
            extract("page.txt", &utf16le),
            Extracted::Text {
                media_type: "text/html".into(),
                body: "Grüße".into()
            }
        );
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("{\"a\": \"ß\"}".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(detect("data", &utf16be), "application/json");
        // Windows-1252: 0x80 is the euro sign, 0x93/0x94 curly quotes; Latin-1 letters as is.
        let cp1252 = b"\x93Caf\xe9\x94 costs \x805\r\n";
        assert_eq!(detect("a.txt", cp1252), "text/plain");
        assert_eq!(
            extract("a.txt", cp1252),
            Extracted::Text {
                media_type: "text/plain".into(),
                body: "“Café” costs €5\r\n".into()
            }
        );
        // UTF-8 stays UTF-8 (its bytes would read as other letters in Windows-1252), also
        // when the sample ends inside a character.
        assert_eq!(text_of("Café".as_bytes()), "Café");
        let cut = "é".repeat(TEXT_SAMPLE).into_bytes();
        assert_eq!(text_encoding(&cut[..TEXT_SAMPLE - 1]), Some(Encoding::Utf8));
        // Bytes that are not UTF-8 and full of control characters are binary, NULs or not.
        let controls: Vec<u8> = (0u8..200)
            .map(|i| if i % 5 == 0 { 0x01 } else { 0xC0 + i % 40 })
            .collect();
        assert_eq!(detect("x.txt", &controls), "application/octet-stream");
        assert_eq!(detect("x.txt", b"caf\xe9\0"), "application/octet-stream");
    }

    #[test]
    fn only_plain_text_formats_are_extracted_in_the_plain_pass() {
        for (name, bytes, media) in [
            ("a.txt", &b"plain words"[..], "text/plain"),
            ("a.md", b"# Title\n", "text/markdown"),
            ("a.csv", b"a,b\n1,2\n", "text/csv"),
            ("notes", b"{\"a\": 1}", "application/json"),
        ] {
            match extract_plain(name, bytes) {
                Some(Extracted::Text { media_type, body }) => {
                    assert_eq!(media_type, media);
                    assert_eq!(body.as_bytes(), bytes);
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        for (name, bytes) in [
            ("a.txt", &b"<!DOCTYPE html><p>x</p>"[..]),
            ("x.txt", b"%PDF-1.4 ..."),
            ("mail.txt", b"From: a@b.c\nTo: d@e.f\nSubject: hi\n\nbody"),
            ("x.bin", b"\x00\x01\x02binary"),
        ] {
            assert!(extract_plain(name, bytes).is_none(), "{name}");
        }
    }

    #[test]
    fn html_keeps_visible_text_only() {
        let t = html_text(
            "<html><head><title>T</title><style>.x{color:red}</style><script>var secret=1</script></head>\
             <body><h1>Heading</h1><p>Visible <b>words</b></p><noscript>nojs</noscript></body></html>",
        );
        assert!(
            t.contains("Heading") && t.contains("Visible") && t.contains("words"),
            "{t}"
        );
        assert!(
            !t.contains("secret") && !t.contains("color") && !t.contains("nojs"),
            "{t}"
        );
    }

    #[test]
    fn unknown_binaries_keep_metadata_only_and_garbage_pdfs_fail_as_corrupt() {
        assert_eq!(
            extract("a.bin", b"\x00\x01\x02\x03"),
            Extracted::MetadataOnly {
                media_type: "application/octet-stream".into()
            }
        );
        match extract("broken.pdf", b"%PDF-1.4\nthis is not a pdf") {
            Extracted::Failed { media_type, reason } => {
                assert_eq!(media_type, "application/pdf");
                assert!(reason.starts_with("corrupt"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mail_with_an_attachment_has_both_texts() {
        let eml = "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: Quarterly\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nSee the numbers attached.\r\n--b\r\n\
Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"numbers.txt\"\r\n\r\n\
zebrafigures inside\r\n--b--\r\n";
        match extract("q.eml", eml.as_bytes()) {
            Extracted::Text { media_type, body } => {
                assert_eq!(media_type, "message/rfc822");
                assert!(
                    body.contains("Quarterly") && body.contains("See the numbers"),
                    "{body}"
                );
                assert!(
                    body.contains("Attachment: numbers.txt") && body.contains("zebrafigures"),
                    "{body}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pdf_text_is_extracted() {
        match extract(
            "r.pdf",
            &crate::testing::sample_pdf("Quarterly pdfonlyword figures"),
        ) {
            Extracted::Text { media_type, body } => {
                assert_eq!(media_type, "application/pdf");
                assert!(body.contains("pdfonlyword"), "{body:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A zip of `parts` (name, XML).
    fn zipped(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o: zip::write::SimpleFileOptions = Default::default();
            for (name, xml) in parts {
                z.start_file(*name, o).unwrap();
                std::io::Write::write_all(&mut z, xml.as_bytes()).unwrap();
            }
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn opendocument_text_is_read_from_its_content() {
        let odt = zipped(&[
            ("mimetype", ODT),
            (
                "content.xml",
                r#"<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>
                <text:h>Minutes</text:h><text:p>Budget<text:s/>approved by <text:span>Ana</text:span></text:p>
                </office:text></office:body></office:document-content>"#,
            ),
        ]);
        assert_eq!(detect("minutes.odt", &odt), ODT);
        let Extracted::Text { body, .. } = extract("minutes.odt", &odt) else {
            panic!("no text")
        };
        let words: Vec<&str> = body.split_whitespace().collect();
        assert_eq!(words, ["Minutes", "Budget", "approved", "by", "Ana"]);
        let ods = zipped(&[
            ("mimetype", ODS),
            (
                "content.xml",
                r#"<c xmlns:table="b" xmlns:text="t"><table:table-cell><text:p>odsword</text:p></table:table-cell></c>"#,
            ),
        ]);
        assert_eq!(detect("sheet", &ods), ODS);
        assert!(
            matches!(extract("sheet", &ods), Extracted::Text { body, .. } if body.contains("odsword"))
        );
        // Another zip with a `mimetype` (an EPUB) is a zip; an OpenDocument without its
        // content is corrupt.
        let epub = zipped(&[("mimetype", "application/epub+zip")]);
        assert_eq!(detect("book.epub", &epub), "application/zip");
        let empty = zipped(&[("mimetype", ODP)]);
        assert!(
            matches!(extract("deck.odp", &empty), Extracted::Failed { reason, .. } if reason.starts_with("corrupt"))
        );
    }

    #[test]
    fn xlsx_and_pptx_text_is_read_in_order() {
        let xlsx = zipped(&[
            ("xl/workbook.xml", "<workbook/>"),
            (
                "xl/sharedStrings.xml",
                r#"<sst><si><t>Revenue</t></si><si><t>sheetword</t></si></sst>"#,
            ),
            (
                "xl/worksheets/sheet1.xml",
                r#"<worksheet><sheetData><row><c t="inlineStr"><is><t>inlineword</t></is></c><c><v>4242</v></c></row></sheetData></worksheet>"#,
            ),
        ]);
        match extract("book.xlsx", &xlsx) {
            Extracted::Text { media_type, body } => {
                assert_eq!(media_type, XLSX);
                for w in ["Revenue", "sheetword", "inlineword", "4242"] {
                    assert!(body.contains(w), "{w}: {body}");
                }
            }
            other => panic!("{other:?}"),
        }
        let pptx = zipped(&[
            ("ppt/presentation.xml", "<presentation/>"),
            (
                "ppt/slides/slide10.xml",
                r#"<p:sld xmlns:a="a" xmlns:p="p"><a:p><a:r><a:t>tenth</a:t></a:r></a:p></p:sld>"#,
            ),
            (
                "ppt/slides/slide2.xml",
                r#"<p:sld xmlns:a="a" xmlns:p="p"><a:p><a:r><a:t>second</a:t></a:r></a:p></p:sld>"#,
            ),
        ]);
        match extract("deck.pptx", &pptx) {
            Extracted::Text { media_type, body } => {
                assert_eq!(media_type, PPTX);
                let (a, b) = (body.find("second").unwrap(), body.find("tenth").unwrap());
                assert!(a < b, "slides in order: {body}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn docx_text_is_read_from_its_xml() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o: zip::write::SimpleFileOptions = Default::default();
            z.start_file("[Content_Types].xml", o).unwrap();
            std::io::Write::write_all(&mut z, b"<Types/>").unwrap();
            z.start_file("word/document.xml", o).unwrap();
            std::io::Write::write_all(
                &mut z,
                br#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:t xml:space="preserve"> docx &amp; world</w:t></w:r></w:p></w:body></w:document>"#,
            )
            .unwrap();
            z.finish().unwrap();
        }
        match extract("d.docx", buf.get_ref()) {
            Extracted::Text { media_type, body } => {
                assert_eq!(media_type, DOCX);
                assert!(
                    body.contains("Hello") && body.contains("docx & world"),
                    "{body}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
