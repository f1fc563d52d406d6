//! Pictures saved as PNG, atomically: written to a temporary file beside the target, then
//! renamed over it, so a reader never sees half a picture.

use std::io::BufWriter;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::RgbImage;

/// A picture that could not be saved.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct PngError {
    /// The file that was to be written.
    pub path: PathBuf,
    /// What failed.
    #[source]
    pub source: PngFailure,
}

/// The step of saving a PNG that failed.
#[derive(Debug, thiserror::Error)]
pub enum PngFailure {
    /// Creating the directory, the temporary file, or renaming it.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Encoding the picture.
    #[error(transparent)]
    Encode(#[from] png::EncodingError),
}

/// Writes `image` as an 8-bit RGB PNG at `path`, creating its directory.
pub fn write_png(image: &RgbImage, path: &Path) -> Result<(), PngError> {
    write(image, path).map_err(|source| PngError {
        path: path.to_owned(),
        source,
    })
}

fn write(image: &RgbImage, path: &Path) -> Result<(), PngFailure> {
    let directory = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            std::fs::create_dir_all(parent)?;
            parent
        }
        None => Path::new("."),
    };
    // Readable by others, as a file created the usual way would be (temporary files are 0600).
    let temporary = tempfile::Builder::new()
        .prefix(".png-")
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(directory)?;
    {
        let mut encoder = png::Encoder::new(
            BufWriter::new(temporary.as_file()),
            image.width,
            image.height,
        );
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&image.data)?;
        writer.finish()?;
    }
    temporary
        .persist(path)
        .map_err(|error| PngFailure::Io(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_written_whole_and_failures_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/picture.png");
        let image = RgbImage {
            width: 8,
            height: 4,
            data: vec![128; 8 * 4 * 3],
        };
        write_png(&image, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (8, 4));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("picture.png")]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");

        let blocked = dir.path().join("a/b/picture.png/inside.png");
        let error = write_png(&image, &blocked).unwrap_err();
        assert!(error.to_string().starts_with("cannot write "), "{error}");
        assert_eq!(error.path, blocked);
    }
}
