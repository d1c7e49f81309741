//! Tributary's pages, components and server functions. Every page is rendered on the server
//! (Leptos islands mode); the browser runs one island, the [`Shell`], whose controller
//! (`client`) fetches pages, forms and live updates as server-rendered HTML and swaps them in.
//! The engine is reached only through server functions (and only under `ssr`).

pub mod api;
#[cfg(feature = "hydrate")]
pub mod client;
pub mod components;
pub mod error;
pub mod flash;
pub mod pages;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::layout::Layout;
use crate::components::shell::{FlashToast, Shell};
use crate::flash::Flashed;
use crate::pages::{
    account::Account, datasource_detail::DatasourceDetail, datasource_list::DatasourceList,
    datasource_new::NewDatasource, invitations::Invitations, login::Login, not_found::NotFound,
    resource::ResourcePage, search::SearchPage, users::Users,
};

/// The HTML document around the app. Pages are rendered here, on the server; in the browser
/// only the [`Shell`] island runs, outside `#page`, and swaps `#page` for the next page's (see
/// `client`). What the last form did (the flash) is read once here, for the page and its toast.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let flash = api::ssr::take_flash();
    #[cfg(not(feature = "ssr"))]
    let flash: Option<types::Flash> = None;
    let toasts: Vec<FlashToast> = flash
        .iter()
        .map(|f| FlashToast {
            ok: f.ok,
            text: f.text.clone(),
        })
        .collect();
    provide_context(Flashed(flash));
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <div id="page">
                    <App />
                </div>
                <Shell toasts />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/tributary.css" />
        <Title formatter=|t: String| if t.is_empty() { "Tributary".to_owned() } else { format!("{t} · Tributary") } />
        <Router>
            // Async rendering: the HTML carries the data, so pages read (and forms work) without
            // JavaScript.
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
    }
}
