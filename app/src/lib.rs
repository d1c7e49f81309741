//! Tributary's pages, components and server functions. Rendered on the server, hydrated in the
//! browser; the engine is reached only through server functions (and only under `ssr`).

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::layout::Layout;
use crate::components::toast::{Toaster, provide_toasts};
use crate::pages::{
    account::Account, datasource_detail::DatasourceDetail, datasource_list::DatasourceList,
    datasource_new::NewDatasource, invitations::Invitations, login::Login, not_found::NotFound,
    resource::ResourcePage, search::SearchPage, users::Users,
};

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
                <Flashed />
            </body>
        </html>
    }
}

/// What a form posted without JavaScript did (see `api::ssr::flash`), on the page it returned
/// to: the toast, and a bulk action's results or a new token's secret below the page. Rendered
/// by the server only, after the app's markup, so the browser's app never meets it (with
/// JavaScript the pages show their own toasts and results, and nothing is flashed).
#[cfg(feature = "ssr")]
#[component]
fn Flashed() -> impl IntoView {
    use crate::components::toast::{ToastItem, ToastKind};
    use crate::pages::{account::NewTokenNotice, datasource_list::BulkResultList};
    api::ssr::take_flash().map(|f| {
        let kind = if f.ok { ToastKind::Success } else { ToastKind::Failure };
        view! {
            <div class="mx-auto max-w-6xl px-4 pb-8" data-testid="flashed">
                {f.bulk.map(|(action, items)| view! { <BulkResultList action items dismiss=None /> })}
                {f.token.map(|t| view! { <NewTokenNotice t /> })}
            </div>
            <div class="pointer-events-none fixed bottom-4 right-4 z-50 flex w-80 max-w-[calc(100vw-2rem)] flex-col gap-2" role="status">
                <ToastItem kind text=f.text dismiss=None />
            </div>
        }
    })
}

#[cfg(not(feature = "ssr"))]
#[component]
fn Flashed() -> impl IntoView {}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_toasts();
    // Marks the document once the WebAssembly has taken over, so tests (and curious people)
    // can tell a hydrated page from a server-rendered one. Effects run only in the browser.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
            // When it happened (ms since the epoch), for the time-to-interactive benchmark.
            #[cfg(feature = "hydrate")]
            let _ = body.set_attribute("data-hydrated-at", &js_sys::Date::now().to_string());
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/tributary.css" />
        <Title formatter=|t: String| if t.is_empty() { "Tributary".to_owned() } else { format!("{t} · Tributary") } />
        <Router>
            // Async rendering: the HTML carries the data, so pages read (and forms work) without
            // JavaScript; the app then hydrates on top.
            <Routes fallback=|| view! { <Layout><NotFound /></Layout> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/datasources" /> } />
                <Route ssr=SsrMode::Async path=path!("/login") view=Login />
                <Route ssr=SsrMode::Async path=path!("/datasources") view=|| view! { <Layout><DatasourceList /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/datasources/new") view=|| view! { <Layout><NewDatasource /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/datasources/:id") view=|| view! { <Layout><DatasourceDetail /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/datasources/:id/resources/:rid") view=|| view! { <Layout><ResourcePage /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/search") view=|| view! { <Layout><SearchPage /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/users") view=|| view! { <Layout><Users /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/invitations") view=|| view! { <Layout><Invitations /></Layout> } />
                <Route ssr=SsrMode::Async path=path!("/account") view=|| view! { <Layout><Account /></Layout> } />
            </Routes>
        </Router>
        <Toaster />
    }
}
