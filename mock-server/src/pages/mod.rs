//! HTML pages served by the mock: the reward link's landing page and the Moments Console.

pub mod console;
pub mod landing;
