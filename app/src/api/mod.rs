//! Server functions: thin calls into the engine under their own `/rpc` prefix, so the REST API
//! owns `/api`. Each one knows who is acting from the session cookie the server resolved. One
//! file per area, as the REST API's (`server/src/api/`); every function is re-exported here.

mod datasources;
mod resources;
mod session;
mod sharing;
#[cfg(feature = "ssr")]
pub mod ssr;
mod syncing;
mod users;

pub use datasources::*;
pub use resources::*;
pub use session::*;
pub use sharing::*;
pub use syncing::*;
pub use users::*;
