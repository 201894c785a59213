//! [`Format`]: the two representations of a slip (SPEC §3.5), shared by the
//! API's content negotiation and the SDK's `Accept`.

use crate::headers;

/// The representation of a slip a client asks for (`Accept`) and the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// `application/json` (the default).
    #[default]
    Json,
    /// `application/pdf`.
    Pdf,
}

impl Format {
    /// Both formats.
    pub const ALL: [Format; 2] = [Format::Json, Format::Pdf];

    /// The media type: the `Accept` a client sends and the `Content-Type` of the answer.
    #[must_use]
    pub const fn media_type(self) -> &'static str {
        match self {
            Format::Json => headers::JSON,
            Format::Pdf => headers::PDF,
        }
    }

    /// The format whose media type is exactly `media` (ASCII case-insensitive,
    /// no parameters), if any.
    #[must_use]
    pub fn from_media_type(media: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.media_type().eq_ignore_ascii_case(media))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_round_trip_and_nothing_else_matches() {
        assert_eq!(Format::default(), Format::Json);
        assert_eq!(Format::Json.media_type(), "application/json");
        assert_eq!(Format::Pdf.media_type(), "application/pdf");
        for format in Format::ALL {
            assert_eq!(Format::from_media_type(format.media_type()), Some(format));
        }
        assert_eq!(Format::from_media_type("Application/PDF"), Some(Format::Pdf));
        for other in
            ["application/*", "*/*", "application/json; q=1", "application/problem+json", "", "text/json"]
        {
            assert_eq!(Format::from_media_type(other), None, "{other}");
        }
    }
}
