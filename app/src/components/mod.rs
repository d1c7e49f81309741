pub mod badge;
pub mod confirm;
pub mod layout;
pub mod live;
pub mod notice;
pub mod toast;
