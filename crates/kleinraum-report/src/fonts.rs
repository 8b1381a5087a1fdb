//! The fonts, embedded in the binary: Liberation Sans (SIL OFL 1.1, metric-compatible with
//! Arial, the usual font of German administrations). No system fonts are read, so a report
//! looks the same on every machine and in CI.

/// Regular, bold, italic, bold italic.
pub const LIBERATION_SANS: [&[u8]; 4] = [
    include_bytes!("../fonts/LiberationSans-Regular.ttf"),
    include_bytes!("../fonts/LiberationSans-Bold.ttf"),
    include_bytes!("../fonts/LiberationSans-Italic.ttf"),
    include_bytes!("../fonts/LiberationSans-BoldItalic.ttf"),
];
