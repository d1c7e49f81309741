//! Live updates: one server-sent event stream (`/api/@events`) per page, shared through
//! context. Pages ask [`use_live_tick`] for a counter that moves when something they show has
//! changed, and refetch on it. While the stream is down they fall back to polling, a banner
//! says the connection is lost, and everything is refetched when it comes back.

use leptos::prelude::*;

/// What the stream has told the page.
#[derive(Clone, Copy)]
pub struct Live {
    /// Bumped (at most a few times a second) with the datasource ids changed since the last
    /// bump; an empty list means "anything may have changed: refetch everything".
    changed: RwSignal<(u32, Vec<String>)>,
    /// The stream is up.
    pub connected: RwSignal<bool>,
    /// The stream was up and has been down for a few seconds.
    pub lost: RwSignal<bool>,
}

/// Opens the stream for this page (in the browser; nothing happens on the server) and
/// provides it to the components below.
pub fn provide_live() -> Live {
    let live = Live {
        changed: RwSignal::new((0, Vec::new())),
        connected: RwSignal::new(false),
        lost: RwSignal::new(false),
    };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::connect(live));
    live
}

/// A counter that moves whenever a datasource for which `shows(id)` holds changes, or when
/// changes may have been missed. While the stream is down and `busy()` holds, it moves every
/// two seconds instead (polling as a fallback).
pub fn use_live_tick(
    shows: impl Fn(&str) -> bool + Send + Sync + 'static,
    busy: impl Fn() -> bool + Send + Sync + 'static,
) -> ReadSignal<u32> {
    let (tick, set_tick) = signal(0u32);
    let Some(live) = use_context::<Live>() else {
        return tick;
    };
    Effect::new(move |_| {
        let (n, ids) = live.changed.get();
        if n > 0 && (ids.is_empty() || ids.iter().any(|id| shows(id))) {
            set_tick.update(|t| *t += 1);
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if !live.connected.get_untracked() && busy() {
                    set_tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = busy;
    tick
}

/// Says so when live updates are interrupted.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let lost = use_context::<Live>().map(|l| l.lost);
    move || {
        lost.is_some_and(|l| l.get()).then(|| {
            view! {
                <div role="status" class="connection-lost" data-testid="connection-lost">
                    "Connection to the server lost. Reconnecting… Pages refresh when it is back."
                </div>
            }
        })
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    use super::Live;

    /// Changes waiting for the next flush.
    #[derive(Default)]
    struct Pending {
        ids: Vec<String>,
        everything: bool,
        /// The stream has been up before (the connection banner is only for a stream that was).
        was_up: bool,
        /// When the stream went down (ms since the epoch), while it is down.
        down_since: Option<f64>,
    }

    const FLUSH_MS: u64 = 300;
    const LOST_AFTER_MS: f64 = 3000.0;

    pub fn connect(live: Live) {
        let Ok(es) = web_sys::EventSource::new("/api/@events") else {
            return;
        };
        let pending = Rc::new(RefCell::new(Pending::default()));

        let on_ready = {
            let pending = pending.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let mut p = pending.borrow_mut();
                // Events may have been missed while the stream was down, and, the first time,
                // between the page's data being read and the stream opening (a sync that ended
                // meanwhile left the page on its old status): refetch once it is up.
                p.everything = true;
                p.was_up = true;
                p.down_since = None;
                live.connected.set(true);
                live.lost.set(false);
            })
        };
        let on_change = {
            let pending = pending.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let id = e
                    .data()
                    .as_string()
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                    .and_then(|v| v["datasource_id"].as_str().map(str::to_owned));
                let mut p = pending.borrow_mut();
                match id {
                    Some(id) if !p.ids.contains(&id) => p.ids.push(id),
                    Some(_) => {}
                    None => p.everything = true, // `missed`
                }
            })
        };
        let on_error = {
            let pending = pending.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let mut p = pending.borrow_mut();
                if p.down_since.is_none() {
                    p.down_since = Some(js_sys::Date::now());
                }
                live.connected.set(false);
            })
        };
        let _ = es.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
        for name in ["status", "progress", "updated", "deleted", "missed"] {
            let _ = es.add_event_listener_with_callback(name, on_change.as_ref().unchecked_ref());
        }
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        let flush = {
            let pending = pending.clone();
            move || {
                let mut p = pending.borrow_mut();
                if let Some(t) = p.down_since
                    && p.was_up
                    && js_sys::Date::now() - t > LOST_AFTER_MS
                    && !live.lost.get_untracked()
                {
                    live.lost.set(true);
                }
                if p.everything || !p.ids.is_empty() {
                    let ids = if p.everything {
                        Vec::new()
                    } else {
                        std::mem::take(&mut p.ids)
                    };
                    p.ids.clear();
                    p.everything = false;
                    drop(p);
                    live.changed.update(|(n, changed)| {
                        *n += 1;
                        *changed = ids;
                    });
                }
            }
        };
        let handle = set_interval_with_handle(flush, std::time::Duration::from_millis(FLUSH_MS));
        // The closures live as long as the stream; both end with the page.
        let keep = Rc::new((on_ready, on_change, on_error));
        let es = send_wrapper::SendWrapper::new(es);
        let keep = send_wrapper::SendWrapper::new(keep);
        on_cleanup(move || {
            es.close();
            drop(keep);
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
}
