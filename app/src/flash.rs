//! What the last form did, as the server flashed it onto this page (see `api::ssr::flash`): the
//! shell takes it once per page and provides it, and the pages show their in-place
//! confirmations from it ("Saved.", a bulk action's results, a new token's secret).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::types::Flash;

/// The flash of the page being rendered (none in the browser: pages are rendered on the server).
#[derive(Debug, Clone, Default)]
pub struct Flashed(pub Option<Flash>);

pub fn flashed() -> Option<Flash> {
    use_context::<Flashed>().and_then(|f| f.0)
}

/// The flash, if the server function `S` left it (a bulk action that did only part of what it
/// was asked flashes `ok: false`, with its results).
pub fn flashed_from<S: ServerFn>() -> Option<Flash> {
    flashed().filter(|f| f.from.as_deref() == Some(S::PATH))
}

/// How a flash rides the redirect: JSON, base64url-encoded (cookie-safe, a third larger
/// whatever the script), in as many cookies as it needs (`tributary_flash.0`, `.1`, …), each
/// under a browser's 4 KB per cookie. Kept by the browser, not by a server, so a redirect's
/// follow-up may reach any of several servers sharing a database.
#[cfg(feature = "ssr")]
pub mod cookie {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::types::Flash;

    pub const PREFIX: &str = "tributary_flash.";
    /// Bytes of a cookie's value: with its name and attributes under 4,096.
    const CHUNK: usize = 3800;
    /// At most this many cookies (about 30 KB): a bulk action of hundreds of rows (only a forged
    /// form posts more than a page's 20) keeps its first results and counts the rest.
    pub const MOST_CHUNKS: usize = 8;

    fn encoded(f: &Flash) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(f).unwrap_or_default())
    }

    /// The cookie values carrying `f`; bulk results beyond what fits are dropped from `f` and
    /// counted in `bulk_cut`.
    pub fn encode(f: &mut Flash) -> Vec<String> {
        let mut value = encoded(f);
        while value.len() > CHUNK * MOST_CHUNKS {
            let Some((_, items)) = f.bulk.as_mut() else {
                break;
            };
            // Drop a tenth at a time: a few re-encodings, not one per row.
            let drop = items.len().div_ceil(10).max(1).min(items.len());
            items.truncate(items.len() - drop);
            f.bulk_cut += drop;
            value = encoded(f);
        }
        value
            .as_bytes()
            .chunks(CHUNK)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    /// The flash from its cookie values, in order; `None` if they do not make one.
    pub fn decode(chunks: &[String]) -> Option<Flash> {
        let bytes = URL_SAFE_NO_PAD.decode(chunks.concat()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::types::BulkResult;

        fn bulk(rows: usize, title: &str, message: &str) -> Flash {
            let items = (0..rows)
                .map(|i| BulkResult {
                    id: format!("{i:032x}"),
                    title: format!("{title} {i}"),
                    ok: i % 3 != 0,
                    message: message.to_owned(),
                })
                .collect();
            Flash {
                bulk: Some(("pause".into(), items)),
                ..Flash::new(
                    false,
                    "Paused 13 of 20 datasources; see the results below the list",
                )
            }
        }

        #[test]
        fn a_page_of_long_bulk_results_survives_whole() {
            // Twenty rows of 200-character titles in another script and a long refusal: what a
            // 48-character cut used to lose.
            let title = "Архив договоров ".repeat(13);
            let message = "cannot pause a datasource whose status is 'paused'";
            let original = bulk(20, &title, message);
            let mut sent = original.clone();
            let chunks = encode(&mut sent);
            assert!(chunks.len() > 1, "more than one cookie's worth");
            assert!(chunks.len() <= MOST_CHUNKS);
            for c in &chunks {
                assert!(c.len() <= CHUNK);
                assert!(
                    c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
            }
            assert_eq!(sent, original, "nothing was dropped");
            assert_eq!(decode(&chunks), Some(original));
        }

        #[test]
        fn a_forged_bulk_of_thousands_keeps_what_fits_and_counts_the_rest() {
            let mut f = bulk(5000, "a datasource with a title", "now paused");
            let chunks = encode(&mut f);
            assert_eq!(chunks.len(), MOST_CHUNKS);
            let back = decode(&chunks).expect("decodes");
            let kept = back.bulk.as_ref().map_or(0, |(_, items)| items.len());
            assert!(kept > 100, "kept {kept}");
            assert_eq!(kept + back.bulk_cut, 5000);
        }

        #[test]
        fn a_short_flash_is_one_cookie_and_garbage_is_none() {
            let mut f = Flash::new(true, "Deleted “Café ☕”");
            let chunks = encode(&mut f);
            assert_eq!(chunks.len(), 1);
            assert_eq!(decode(&chunks), Some(Flash::new(true, "Deleted “Café ☕”")));
            assert_eq!(decode(&["not base64!".to_owned()]), None);
            assert_eq!(decode(&[]), None);
        }
    }
}
