//! The world around the engine: agents and their desktops, customers, the dialer and the
//! switch.

pub mod customers;
pub mod desktop;
pub mod switch;
