//! The one way code tables are written: a newtype over the wire integer (declared beside the
//! table, with its own derives and docs) gets its named constants, `name()` and `Display`
//! from [`code_table!`], so the names and the constants cannot drift apart.
//!
//! Contract: `name()` is a single `match` on the integer and allocates nothing; a value no
//! entry names is still a valid value and `Display` prints it with the table's `unknown`
//! format. Two entries with the same value are an `unreachable_patterns` warning in `name()`,
//! which CI's clippy run turns into an error.

/// Declares, for a newtype `$ty(pub int)`: one constant per entry, `name()` returning the
/// entry's name (its identifier, unless a string follows `=>`), `Display` printing that name
/// or, for a value without one, the integer through the `unknown` format string; and, for
/// tests, `ALL`, every entry in declaration order.
macro_rules! code_table {
    (
        $ty:ident, unknown = $unknown:literal, {
            $($(#[$doc:meta])* $name:ident = $value:literal $(=> $text:literal)?,)*
        }
    ) => {
        impl $ty {
            $($(#[$doc])* pub const $name: $ty = $ty($value);)*

            /// The value's name, or `None` when no entry of the table names it.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some($crate::proto::code_table::code_table!(@text $name $($text)?)),)*
                    _ => None,
                }
            }

            #[cfg(test)]
            pub(crate) const ALL: &'static [$ty] = &[$($ty::$name,)*];
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, $unknown, self.0),
                }
            }
        }
    };
    (@text $name:ident) => { stringify!($name) };
    (@text $name:ident $text:literal) => { $text };
}
pub(crate) use code_table;

/// Checks a table's `ALL`: every entry has a name, no two share one, and each prints as it.
#[cfg(test)]
pub(crate) fn assert_names_round_trip<T: Copy + std::fmt::Display>(
    all: &[T],
    name: impl Fn(T) -> Option<&'static str>,
) {
    let mut seen = std::collections::HashSet::new();
    for &entry in all {
        let text = name(entry).expect("every entry has a name");
        assert!(seen.insert(text), "duplicate name {text}");
        assert_eq!(entry.to_string(), text);
    }
}
