namespace AttAnchor.OnnxRuntime;

/// <summary>
/// How an image becomes the square the vision encoder takes (<c>resize_mode</c> in a model folder's
/// <c>attanchor.json</c>). Every mode resizes with Pillow's bicubic filter on the 8-bit image, bit for bit
/// as the Python reference does.
/// </summary>
public enum ResizeMode
{
    /// <summary>
    /// <c>shortest_edge_center_crop</c> (CLIP's image processor, LLaVA 1.5, TinyLLaVA): the shorter side
    /// is resized to the image size and the longer one in proportion (truncated), then the centre square
    /// is cropped. The borders of a non-square image are cut off.
    /// </summary>
    ShortestEdgeCenterCrop,

    /// <summary>
    /// <c>pad_to_square</c> (LLaVA's <c>expand2square</c>): the image is centred on a square of its longer
    /// side, filled with the colour of the model's mean (<c>int(255 × mean)</c> per channel), then resized
    /// to the image size. Nothing is cut off.
    /// </summary>
    PadToSquare,

    /// <summary>
    /// <c>stretch</c> (SigLIP's image processor): the image is resized straight to the square, so a
    /// non-square image is distorted. Nothing is cut off.
    /// </summary>
    Stretch,
}

/// <summary>The <c>attanchor.json</c> names of <see cref="ResizeMode"/>.</summary>
internal static class ResizeModes
{
    /// <summary>The names in <c>attanchor.json</c>, in the order of <see cref="ResizeMode"/>'s values.</summary>
    public static IReadOnlyList<string> Names { get; } = ["shortest_edge_center_crop", "pad_to_square", "stretch"];

    /// <summary>Parses an <c>attanchor.json</c> name.</summary>
    /// <param name="name">The name, e.g. <c>shortest_edge_center_crop</c> (exact, lower case).</param>
    /// <param name="context">What is being read, for the error message, e.g. <c>model/attanchor.json: 'resize_mode'</c>.</param>
    /// <returns>The mode.</returns>
    /// <exception cref="InvalidDataException">The name is not one of <see cref="Names"/>.</exception>
    public static ResizeMode Parse(string? name, string context) => name switch
    {
        "shortest_edge_center_crop" => ResizeMode.ShortestEdgeCenterCrop,
        "pad_to_square" => ResizeMode.PadToSquare,
        "stretch" => ResizeMode.Stretch,
        _ => throw new InvalidDataException(
            $"{context} is {(name is null ? "missing" : $"'{name}'")}, which is not a resize mode; use one of {string.Join(", ", Names)}."),
    };

    /// <summary>The <c>attanchor.json</c> name of a mode.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>The name, e.g. <c>pad_to_square</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined mode.</exception>
    public static string ToName(this ResizeMode mode) => mode switch
    {
        ResizeMode.ShortestEdgeCenterCrop => Names[0],
        ResizeMode.PadToSquare => Names[1],
        ResizeMode.Stretch => Names[2],
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a defined ResizeMode."),
    };
}
