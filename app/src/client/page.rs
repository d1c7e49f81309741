//! Pages and forms without reloads. A link or a GET form fetches the next page, a POST form is
//! fetched as the plain form it is (asking for HTML, so the server answers as it would a browser
//! without JavaScript: a redirect to the page to show, with what the form did flashed onto it),
//! and the answer's `#page` replaces this one's. The address, history, title, scroll and focus
//! follow, and toasts the server flashed go to the shell.
//!
//! What the server answers is the page; nothing here renders. When a fetch fails, the page
//! stays as it was and a toast says why.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use leptos::prelude::Set;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, Element, HtmlElement, HtmlFormElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement, MouseEvent, PopStateEvent, SubmitEvent, Url,
};

use super::dom::{self, doc, win};
use super::{live, toast_failure, ui, widgets};

/// Sent with live refetches: the server then leaves the flash for the page a form returns to.
pub const LIVE_HEADER: &str = "X-Tributary-Live";

thread_local! {
    /// Moves with every page swapped in: an answer fetched for an older page is not applied.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    /// The latest navigation asked for: an earlier one arriving late is dropped.
    static NAVIGATION: Cell<u64> = const { Cell::new(0) };
    /// The page `#page` shows (path and query): Back or Forward to another fragment of it is
    /// the browser's to scroll, not a page to fetch.
    static SHOWN: RefCell<String> = const { RefCell::new(String::new()) };
    /// Fetches on their way (for the loading bar).
    static IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    /// Each live region's HTML as the server last sent it, so an unchanged one is not
    /// replaced (the page's own changes, like checked boxes, are not the server's).
    static SERVED: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

pub fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

pub fn install() {
    let d = doc();
    if let Ok(h) = win().history() {
        // Scroll positions are ours to restore: the page changes after the address does.
        let _ = h.set_scroll_restoration(web_sys::ScrollRestoration::Manual);
    }
    dom::listen::<MouseEvent>(&d, "click", false, on_click);
    dom::listen::<SubmitEvent>(&d, "submit", false, on_submit);
    dom::listen::<PopStateEvent>(&win(), "popstate", false, |e| {
        if SHOWN.with(|s| *s.borrow() == dom::here()) {
            return;
        }
        let y = e.state().as_f64();
        let href = win().location().href().unwrap_or_default();
        navigate(href, History::Pop(y));
    });
}

/// The first page, as the browser loaded it.
pub fn arrived_first() {
    SHOWN.with(|s| *s.borrow_mut() = dom::here());
    remember_served(&doc());
    widgets::sync_selection();
    live::session_changed();
}

/// A click on a link to another page of the app: fetched and swapped in.
fn on_click(e: MouseEvent) {
    if e.default_prevented()
        || e.button() != 0
        || e.meta_key()
        || e.ctrl_key()
        || e.shift_key()
        || e.alt_key()
    {
        return;
    }
    let Some(a) = dom::closest(e.target(), "a[href]") else {
        return;
    };
    if a.has_attribute("target") || a.has_attribute("download") {
        return;
    }
    let Some(u) = a.get_attribute("href").and_then(|h| dom::url(&h)) else {
        return;
    };
    if !is_page(&u) {
        return;
    }
    // A link to a place on this page: the browser scrolls to it.
    if !u.hash().is_empty() && dom::path_and_query(&u) == dom::here() {
        return;
    }
    e.prevent_default();
    navigate(u.href(), History::Push);
}

/// An address of one of the app's pages (not the API, server functions or files).
fn is_page(u: &Url) -> bool {
    let origin = win().location().origin().unwrap_or_default();
    let path = u.pathname();
    u.origin() == origin
        && !path.starts_with("/api/")
        && !path.starts_with("/rpc/")
        && !path.starts_with("/pkg/")
        && !path.rsplit('/').next().unwrap_or("").contains('.')
}

fn on_submit(e: SubmitEvent) {
    if e.default_prevented() {
        return;
    }
    let Some(form) = e
        .target()
        .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
    else {
        return;
    };
    // Read as attributes: a control named `action` or `method` (the bulk buttons are) shadows
    // the form's properties of those names.
    let method = form
        .get_attribute("method")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let Some(action) = dom::url(&form.get_attribute("action").unwrap_or_default()) else {
        return;
    };
    let origin = win().location().origin().unwrap_or_default();
    if action.origin() != origin {
        return;
    }
    let submitter = e.submitter();
    let Ok(data) = web_sys::FormData::new_with_form(&form) else {
        return;
    };
    if let Some(s) = &submitter
        && let Some(name) = s.get_attribute("name").filter(|n| !n.is_empty())
    {
        let _ = data.append_with_str(&name, &s.get_attribute("value").unwrap_or_default());
    }
    let Ok(params) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
        return;
    };
    let query: String = params.to_string().into();
    e.prevent_default();
    if method == "post" {
        post(form, submitter, action.href(), query);
    } else {
        action.set_search(&query);
        action.set_hash("");
        navigate(action.href(), History::Push);
    }
}

enum History {
    /// A new entry (a link, a GET form).
    Push,
    /// Back or forward to an entry: its scroll position, when it was left.
    Pop(Option<f64>),
}

/// Fetches the page at `href` and swaps it in.
fn navigate(href: String, history: History) {
    let id = NAVIGATION.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    loading(true);
    leptos::task::spawn_local(async move {
        let fetched = fetch(&href, None, false).await;
        loading(false);
        if NAVIGATION.with(Cell::get) != id {
            return;
        }
        match fetched {
            Err(Failure::NotAPage) => {
                let _ = win().location().assign(&href);
            }
            Err(Failure::Said(msg)) => toast_failure(&format!("Could not open the page. {msg}")),
            Ok(f) => {
                let (clean, _) = clean_url(&f.url);
                let scroll = match history {
                    History::Push => {
                        remember_scroll();
                        push(&clean);
                        Some(0.0)
                    }
                    History::Pop(y) => {
                        // Where the server sent us (a login page, say) is the entry's address now.
                        replace(&clean);
                        Some(y.unwrap_or(0.0))
                    }
                };
                arrive(
                    &f.doc,
                    Arrival::NewPage {
                        scroll,
                        hash: url_hash(&href),
                    },
                );
            }
        }
    });
}

/// Posts a form as the browser would, then shows the page the server answers with.
fn post(form: HtmlFormElement, submitter: Option<HtmlElement>, action: String, body: String) {
    if form.has_attribute("data-submitting") {
        return; // already on its way
    }
    let typed = Typed::of(&doc());
    let focus = doc().active_element().map(|e| FocusKey::of(&e));
    pending(&form, submitter.as_ref(), true);
    loading(true);
    leptos::task::spawn_local(async move {
        let fetched = fetch(&action, Some(body), false).await;
        loading(false);
        match fetched {
            Err(e) => {
                pending(&form, submitter.as_ref(), false);
                if let Some(s) = &submitter {
                    let _ = s.focus();
                }
                toast_failure(&match e {
                    Failure::Said(msg) => msg,
                    Failure::NotAPage => "The server's answer was not a page.".to_owned(),
                });
            }
            Ok(f) => {
                let (clean, refused) = clean_url(&f.url);
                let same_page =
                    dom::url(&clean).is_some_and(|u| dom::path_and_query(&u) == dom::here());
                if refused || same_page {
                    // Back on this page: refused (the messages are in place, and what was typed
                    // is kept) or done (the page shows what changed).
                    replace(&clean);
                    arrive(
                        &f.doc,
                        Arrival::SamePage {
                            typed: refused.then_some(typed),
                            focus,
                        },
                    );
                    if refused {
                        refused_said();
                    }
                } else {
                    remember_scroll();
                    push(&clean);
                    arrive(
                        &f.doc,
                        Arrival::NewPage {
                            scroll: Some(0.0),
                            hash: None,
                        },
                    );
                }
            }
        }
    });
}

/// After a refused form: the first message in place, as a toast too, and the focus on its field.
fn refused_said() {
    let Some(root) = dom::page_root() else { return };
    let Some(alert) = dom::all(&root, "[role=alert]").into_iter().next() else {
        return;
    };
    if let Some(text) = alert.text_content().filter(|t| !t.trim().is_empty()) {
        toast_failure(text.trim());
    }
    let field = alert
        .parent_element()
        .and_then(|p| p.query_selector("input, select, textarea").ok().flatten());
    if let Some(f) = field.and_then(|f| f.dyn_into::<HtmlElement>().ok()) {
        let _ = f.focus();
    }
}

pub enum Arrival {
    /// Another page: scrolled to the top (or where it was left) and the focus on its heading.
    NewPage {
        scroll: Option<f64>,
        hash: Option<String>,
    },
    /// This page again: the scroll and focus stay; `typed`: what was typed into forms, kept.
    SamePage {
        typed: Option<Typed>,
        focus: Option<FocusKey>,
    },
}

/// Swaps `#page` for `new`'s, and everything that goes with a page.
pub fn arrive(new: &Document, how: Arrival) {
    let d = doc();
    let (Some(old), Some(next)) = (dom::page_root(), new.get_element_by_id("page")) else {
        // Not one of the app's pages: let the browser show it.
        let _ = win().location().reload();
        return;
    };
    let y = win().scroll_y().unwrap_or(0.0);
    let Ok(imported) = d.import_node_with_deep(&next, true) else {
        return;
    };
    if old.replace_with_with_node_1(&imported).is_err() {
        return;
    }
    GENERATION.with(|g| g.set(g.get() + 1));
    SHOWN.with(|s| *s.borrow_mut() = dom::here());
    d.set_title(&new.title());
    remember_served(new);
    take_toasts(new);
    widgets::sync_selection();
    match how {
        Arrival::NewPage { scroll, hash } => {
            let target = hash.and_then(|h| d.get_element_by_id(&h));
            match target {
                Some(t) => t.scroll_into_view(),
                None => win().scroll_to_with_x_and_y(0.0, scroll.unwrap_or(0.0)),
            }
            focus_heading();
        }
        Arrival::SamePage { typed, focus } => {
            if let Some(t) = typed {
                t.restore(&d);
            }
            win().scroll_to_with_x_and_y(0.0, y);
            if let Some(el) = focus.and_then(|k| dom::page_root().and_then(|r| k.find(&r))) {
                let _ = el.focus();
            }
        }
    }
    live::session_changed();
}

/// Moves the focus to the new page's heading, so keyboard and screen-reader users start there
/// (as on a page load), without showing a focus ring on it.
fn focus_heading() {
    let Some(root) = dom::page_root() else { return };
    let h = root
        .query_selector("main h1")
        .ok()
        .flatten()
        .or_else(|| root.query_selector("main").ok().flatten());
    if let Some(h) = h.and_then(|h| h.dyn_into::<HtmlElement>().ok()) {
        if !h.has_attribute("tabindex") {
            let _ = h.set_attribute("tabindex", "-1");
            let _ = h.class_list().add_1("outline-none");
        }
        let _ = h.focus();
    }
}

/// Toasts the server flashed onto a fetched page, shown by the shell.
fn take_toasts(new: &Document) {
    let Some(ui) = ui() else { return };
    for t in dom::all_in_doc(new, "#toasts [data-toast]") {
        let text = t
            .query_selector(".toast-text")
            .ok()
            .flatten()
            .and_then(|p| p.text_content())
            .unwrap_or_default();
        if text.is_empty() {
            continue;
        }
        if t.get_attribute("data-toast").as_deref() == Some("success") {
            ui.toasts.success(text);
        } else {
            ui.toasts.failure(text);
        }
    }
}

/// Remembers the live regions of a page as the server sent them.
pub fn remember_served(d: &Document) {
    SERVED.with(|s| {
        let mut s = s.borrow_mut();
        s.clear();
        for r in dom::all_in_doc(d, "#page [data-live][id]") {
            s.insert(r.id(), r.outer_html());
        }
    });
}

/// Whether the server's HTML of region `id` changed since it was last seen (and remembers it).
pub fn served_changed(id: &str, html: &str) -> bool {
    SERVED.with(|s| {
        let mut s = s.borrow_mut();
        if s.get(id).map(String::as_str) == Some(html) {
            false
        } else {
            s.insert(id.to_owned(), html.to_owned());
            true
        }
    })
}

/// A fetched page.
pub struct Fetched {
    /// Where it ended up, after the server's redirects.
    pub url: String,
    pub doc: Document,
}

pub enum Failure {
    /// Why, in a sentence.
    Said(String),
    /// The answer was something else than a page (a file, say).
    NotAPage,
}

/// GETs `url` (or POSTs `body` to it, as a form would) asking for HTML.
pub async fn fetch(url: &str, body: Option<String>, live: bool) -> Result<Fetched, Failure> {
    use gloo_net::http::Request;
    let unreachable =
        |_| Failure::Said("The server could not be reached; check the connection.".to_owned());
    let req = match body {
        Some(_) => Request::post(url),
        None => Request::get(url),
    }
    .header("Accept", "text/html");
    let req = if live {
        req.header(LIVE_HEADER, "1")
    } else {
        req
    };
    let resp = match body {
        Some(b) => req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(b)
            .map_err(unreachable)?
            .send()
            .await
            .map_err(unreachable)?,
        None => req.send().await.map_err(unreachable)?,
    };
    let is_html = resp
        .headers()
        .get("content-type")
        .is_some_and(|c| c.contains("text/html"));
    let status = resp.status();
    let final_url = resp.url();
    // Only the app's own pages are swapped in: a page from elsewhere (a redirect that left the
    // site) would run its script in this origin, with this session.
    let own = win().location().origin().unwrap_or_default();
    if dom::url(&final_url).is_none_or(|u| u.origin() != own) {
        return Err(Failure::Said(
            "The answer came from another site, so it was not shown.".to_owned(),
        ));
    }
    let text = resp.text().await.map_err(unreachable)?;
    if !is_html {
        if (200..300).contains(&status) {
            return Err(Failure::NotAPage);
        }
        return Err(Failure::Said(error_message(status, &text)));
    }
    let parser = web_sys::DomParser::new().map_err(|_| Failure::NotAPage)?;
    let doc = parser
        .parse_from_string(&text, web_sys::SupportedType::TextHtml)
        .map_err(|_| Failure::NotAPage)?;
    Ok(Fetched {
        url: dom::url(&final_url).map_or(final_url, |u| u.href()),
        doc,
    })
}

/// The message of an error the server answered with: the API's `{"error": {"message"}}`, else
/// its text.
fn error_message(status: u16, text: &str) -> String {
    let from_json = js_sys::JSON::parse(text).ok().and_then(|v| {
        let get = |v: &JsValue, k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).ok();
        get(&v, "error")
            .and_then(|e| get(&e, "message"))
            .or_else(|| get(&v, "message"))
            .and_then(|m| m.as_string())
    });
    match from_json {
        Some(m) => m,
        None if text.trim().is_empty() => format!("The server answered {status}."),
        None => text.chars().take(300).collect(),
    }
}

/// `url` without the refused form's error (leptos puts it in the address: `__path`, `__err`),
/// and whether it had one.
fn clean_url(url: &str) -> (String, bool) {
    let Some(u) = dom::url(url) else {
        return (url.to_owned(), false);
    };
    let p = u.search_params();
    let refused = p.has("__err");
    p.delete("__path");
    p.delete("__err");
    (u.href(), refused)
}

fn url_hash(href: &str) -> Option<String> {
    Url::new(href)
        .ok()
        .map(|u| u.hash().trim_start_matches('#').to_owned())
        .filter(|h| !h.is_empty())
}

fn push(href: &str) {
    if let Ok(h) = win().history() {
        let _ = h.push_state_with_url(&JsValue::NULL, "", Some(href));
    }
}

fn replace(href: &str) {
    if let Ok(h) = win().history() {
        let state = h.state().unwrap_or(JsValue::NULL);
        let _ = h.replace_state_with_url(&state, "", Some(href));
    }
}

/// Keeps this entry's scroll position, for coming back to it.
fn remember_scroll() {
    if let Ok(h) = win().history() {
        let y = win().scroll_y().unwrap_or(0.0);
        let _ = h.replace_state_with_url(&JsValue::from_f64(y), "", None);
    }
}

/// The loading bar, shown when a fetch takes longer than a blink.
fn loading(start: bool) {
    let n = IN_FLIGHT.with(|c| {
        let n = if start {
            c.get() + 1
        } else {
            c.get().saturating_sub(1)
        };
        c.set(n);
        n
    });
    let Some(ui) = ui() else { return };
    if let Some(root) = dom::page_root() {
        if n > 0 {
            let _ = root.set_attribute("aria-busy", "true");
        } else {
            let _ = root.remove_attribute("aria-busy");
        }
    }
    if n == 0 {
        ui.loading.set(false);
    } else if start {
        leptos::prelude::set_timeout(
            move || {
                if IN_FLIGHT.with(Cell::get) > 0 {
                    ui.loading.set(true);
                }
            },
            std::time::Duration::from_millis(150),
        );
    }
}

/// Marks a form as on its way (or no longer): busy, its button disabled and saying so.
fn pending(form: &HtmlFormElement, submitter: Option<&HtmlElement>, on: bool) {
    if on {
        let _ = form.set_attribute("aria-busy", "true");
        let _ = form.set_attribute("data-submitting", "");
    } else {
        let _ = form.remove_attribute("aria-busy");
        let _ = form.remove_attribute("data-submitting");
    }
    let Some(b) = submitter else { return };
    if on {
        let _ = b.set_attribute("disabled", "");
        if let Some(label) = b.get_attribute("data-pending-label") {
            let _ = b.set_attribute("data-idle-label", &b.text_content().unwrap_or_default());
            b.set_text_content(Some(&label));
        }
    } else {
        let _ = b.remove_attribute("disabled");
        if let Some(label) = b.get_attribute("data-idle-label") {
            b.set_text_content(Some(&label));
        }
    }
}

/// Which control had the focus, to find its counterpart in the page that replaces it.
pub enum FocusKey {
    Id(String),
    /// A control without an id: its tag, name, value and text, and its form's action.
    Control {
        tag: String,
        name: String,
        value: String,
        text: String,
        action: String,
    },
}

impl FocusKey {
    pub fn of(el: &Element) -> Self {
        if !el.id().is_empty() {
            return Self::Id(el.id());
        }
        let attr = |n: &str| el.get_attribute(n).unwrap_or_default();
        let action = el
            .closest("form")
            .ok()
            .flatten()
            .and_then(|f| f.get_attribute("action"))
            .unwrap_or_default();
        Self::Control {
            tag: el.tag_name(),
            name: attr("name"),
            value: attr("value"),
            text: el.text_content().unwrap_or_default(),
            action,
        }
    }

    pub fn find(&self, root: &Element) -> Option<HtmlElement> {
        let found = match self {
            Self::Id(id) => dom::all(root, "[id]").into_iter().find(|e| &e.id() == id),
            Self::Control {
                tag,
                name,
                value,
                text,
                action,
            } => dom::all(root, "button, input, select, textarea, a")
                .into_iter()
                .find(|e| FocusKey::of(e).same_control(tag, name, value, text, action)),
        };
        found.and_then(|e| e.dyn_into().ok())
    }

    fn same_control(&self, t: &str, n: &str, v: &str, x: &str, a: &str) -> bool {
        matches!(self, Self::Control { tag, name, value, text, action }
            if tag == t && name == n && value == v && text == x && action == a)
    }
}

/// What was typed into the page's forms: the fields whose values differ from what the server
/// sent, by form (its action and place among the forms with that action) and field name.
pub struct Typed(Vec<TypedField>);

struct TypedField {
    form: (String, usize),
    name: String,
    /// Which of the form's fields of that name.
    nth: usize,
    value: FieldValue,
}

enum FieldValue {
    Text(String),
    Checked(bool),
}

impl Typed {
    pub fn of(d: &Document) -> Self {
        Self(
            keyed_fields(d)
                .into_iter()
                .filter_map(|(form, name, nth, field)| {
                    typed_value(&field).map(|value| TypedField {
                        form,
                        name,
                        nth,
                        value,
                    })
                })
                .collect(),
        )
    }

    /// Puts what was typed back into the same fields of the new page.
    pub fn restore(&self, d: &Document) {
        if self.0.is_empty() {
            return;
        }
        for (form, name, nth, field) in keyed_fields(d) {
            if let Some(t) = self
                .0
                .iter()
                .find(|t| t.form == form && t.name == name && t.nth == nth)
            {
                set_value(&field, &t.value);
            }
        }
    }
}

/// Every named field of the page's forms with what finds it again in another rendering of the
/// page: its form's key, its name, and which of that form's fields of that name it is.
fn keyed_fields(d: &Document) -> Vec<((String, usize), String, usize, Element)> {
    let mut out = Vec::new();
    for (form, key) in forms(d) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for field in fields(&form) {
            let name = field.get_attribute("name").unwrap_or_default();
            let nth = seen.entry(name.clone()).or_default();
            out.push((key.clone(), name, *nth, field));
            *nth += 1;
        }
    }
    out
}

/// The page's forms, each with its key: its action and its place among those with that action.
fn forms(d: &Document) -> Vec<(HtmlFormElement, (String, usize))> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    dom::all_in_doc(d, "#page form")
        .into_iter()
        .filter_map(|f| f.dyn_into::<HtmlFormElement>().ok())
        .map(|f| {
            let action = f.get_attribute("action").unwrap_or_default();
            let n = seen.entry(action.clone()).or_default();
            let key = (action, *n);
            *n += 1;
            (f, key)
        })
        .collect()
}

/// A form's named fields that people type into or choose in.
fn fields(form: &HtmlFormElement) -> Vec<Element> {
    dom::all(form, "input[name], select[name], textarea[name]")
        .into_iter()
        .filter(|e| {
            !matches!(
                e.get_attribute("type").unwrap_or_default().as_str(),
                "hidden" | "submit" | "button" | "reset" | "image" | "file"
            )
        })
        .collect()
}

/// The field's value when it differs from what the server sent.
fn typed_value(field: &Element) -> Option<FieldValue> {
    if let Some(i) = field.dyn_ref::<HtmlInputElement>() {
        return match i.type_().as_str() {
            "checkbox" | "radio" => {
                (i.checked() != i.default_checked()).then(|| FieldValue::Checked(i.checked()))
            }
            _ => (i.value() != i.default_value()).then(|| FieldValue::Text(i.value())),
        };
    }
    if let Some(t) = field.dyn_ref::<HtmlTextAreaElement>() {
        return (Ok(t.value()) != t.default_value()).then(|| FieldValue::Text(t.value()));
    }
    if let Some(s) = field.dyn_ref::<HtmlSelectElement>() {
        let served = s
            .query_selector("option[selected]")
            .ok()
            .flatten()
            .or_else(|| s.query_selector("option").ok().flatten())
            .and_then(|o| o.get_attribute("value"))
            .unwrap_or_default();
        return (s.value() != served).then(|| FieldValue::Text(s.value()));
    }
    None
}

fn set_value(field: &Element, value: &FieldValue) {
    match (value, field.dyn_ref::<HtmlInputElement>()) {
        (FieldValue::Checked(c), Some(i)) => i.set_checked(*c),
        (FieldValue::Text(v), Some(i)) => i.set_value(v),
        (FieldValue::Text(v), None) => {
            if let Some(t) = field.dyn_ref::<HtmlTextAreaElement>() {
                t.set_value(v);
            } else if let Some(s) = field.dyn_ref::<HtmlSelectElement>() {
                s.set_value(v);
            }
        }
        (FieldValue::Checked(_), None) => {}
    }
}
