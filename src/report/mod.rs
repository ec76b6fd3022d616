//! Output: dissection dumps (`smbtriage dump`) and, later, findings reports.

pub mod dump;
