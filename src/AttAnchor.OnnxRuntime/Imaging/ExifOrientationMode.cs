namespace AttAnchor.OnnxRuntime;

/// <summary>
/// Whether loading an image applies its EXIF orientation (JPEG's and WebP's EXIF, PNG's <c>eXIf</c>
/// chunk). Photos from phones and cameras are often stored sideways with an orientation that says how
/// to show them, and Python pipelines differ here: <c>transformers.image_utils.load_image</c> applies it,
/// an image processor given Pillow's <c>Image.open</c> image does not.
/// </summary>
public enum ExifOrientationMode
{
    /// <summary>
    /// Turn and mirror the pixels as the orientation says (Pillow's <c>ImageOps.exif_transpose</c>, as
    /// <c>transformers.image_utils.load_image</c> does): the image as a viewer shows it. The default.
    /// </summary>
    Apply,

    /// <summary>
    /// Keep the pixels as stored, ignoring the orientation (Pillow's <c>Image.open</c> then
    /// <c>convert("RGB")</c>, as an image processor given that image sees it).
    /// </summary>
    Ignore,
}
