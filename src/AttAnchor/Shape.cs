namespace AttAnchor;

/// <summary>Argument checks shared by the public entry points; every message says what to do.</summary>
internal static class Shape
{
    public static int Rows<T>(ReadOnlySpan<T> values, int dimension, string paramName, string what)
    {
        if (values.Length % dimension != 0)
        {
            throw new ArgumentException(
                $"The {what} hold {values.Length} values, which is not a whole number of rows of width {dimension}. " +
                $"Pass rows × {dimension} values, row-major, and check that the embedding width matches the model.", paramName);
        }

        return values.Length / dimension;
    }

    public static void RequireDimension(int dimension)
    {
        if (dimension < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension,
                "The embedding width must be at least 1; pass the model's hidden size (2048 for TinyLLaVA v1).");
        }
    }

    public static (int Text, int Image) RowCounts<T>(ReadOnlySpan<T> text, ReadOnlySpan<T> image, int dimension)
    {
        RequireDimension(dimension);
        return (Rows(text, dimension, nameof(text), "text embeddings"), Rows(image, dimension, nameof(image), "image embeddings"));
    }

    public static int MatrixSize(int rows, int columns)
    {
        long size = (long)rows * columns;
        if (size > Array.MaxLength)
        {
            throw new ArgumentException(
                $"{rows} text rows × {columns} image rows is too large a similarity matrix ({size} entries). Split the text into smaller batches.");
        }

        return (int)size;
    }

    public static void RequireLength(int actual, long required, string paramName, string what)
    {
        if (actual < required)
        {
            throw new ArgumentException(
                $"The destination is too short: it holds {actual} values but {what} needs {required}. Allocate at least {required}.", paramName);
        }
    }
}
