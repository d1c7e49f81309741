pub mod badge;
pub mod layout;
pub mod live;
pub mod notice;
