//! Sessions as files and what is done with them: recording a real API's
//! exchanges (`record`) and serving them back (`replay`), traces of the
//! runtime's agent loop, the neutral `Session` both read into, and what-if
//! schedules of a session's calls with their timeline.

mod load;
#[cfg(feature = "record")]
pub(crate) mod record;
pub(crate) mod recording;
pub(crate) mod replay;
pub(crate) mod session;
pub(crate) mod session_file;
pub(crate) mod timeline;
pub(crate) mod trace;
pub mod whatif;
