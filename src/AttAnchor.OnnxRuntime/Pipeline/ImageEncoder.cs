using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace AttAnchor.OnnxRuntime;

/// <summary>An image's rows for the decoder, and the time each part of the image stage took.</summary>
/// <param name="Rows">[M × D]: the projector's output (the vision encoder's, without a projector).</param>
/// <param name="Preprocess">Resize, crop and normalise.</param>
/// <param name="Vision">The vision encoder.</param>
/// <param name="Projector">The projector; zero without one.</param>
internal sealed record ImageRows(float[] Rows, TimeSpan Preprocess, TimeSpan Vision, TimeSpan Projector);

/// <summary>The image stage: image → pixel values [3 × S × S] → vision encoder → projector → image rows [M × D].</summary>
internal sealed class ImageEncoder(ModelGraphs graphs, ModelConfig config)
{
    private long _encodings;

    /// <summary>Tests: how many times the vision encoder has run.</summary>
    public long Encodings => Interlocked.Read(ref _encodings);

    /// <summary>Preprocesses and encodes an image; the token is checked before each of the two.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before a stage.</exception>
    public ImageRows Encode(ModelImage image, RunOptions run, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long start = Stopwatch.GetTimestamp();
        float[] pixels = ImagePreprocessor.GetPixelValues(image, config);
        TimeSpan preprocess = Stopwatch.GetElapsedTime(start);
        cancellationToken.ThrowIfCancellationRequested();
        float[] rows = Encode(pixels, run, out TimeSpan vision, out TimeSpan projector);
        return new ImageRows(rows, preprocess, vision, projector);
    }

    /// <summary>The image rows [M × D] of pixel values [3 × S × S]: the vision encoder, then the projector when there is one.</summary>
    public float[] Encode(float[] pixels, RunOptions run, out TimeSpan vision, out TimeSpan projector)
    {
        Interlocked.Increment(ref _encodings);
        int size = config.ImageSize;
        long[] expected = [1, config.NumImageTokens, config.HiddenSize];
        long start = Stopwatch.GetTimestamp();
        using OrtValue input = OrtTensors.FromFloats(pixels, [1, 3, size, size], graphs.PixelType);
        using IDisposableReadOnlyCollection<OrtValue> outputs = graphs.Vision.Run(run, ModelGraphs.PixelValues, input, ModelGraphs.ImageFeatures);
        vision = Stopwatch.GetElapsedTime(start);
        OrtValue features = outputs[0];
        projector = TimeSpan.Zero;
        if (graphs.Projector is not { } graph)
        {
            float[] values = OrtTensors.ToFloats(features, out long[] shape);
            graphs.Vision.RequireOutputShape(ModelGraphs.ImageFeatures, shape, expected);
            return values;
        }

        start = Stopwatch.GetTimestamp();
        using OrtValue? converted = features.GetTensorTypeAndShape().ElementDataType == graphs.ProjectorInputType
            ? null
            : OrtTensors.FromFloats(OrtTensors.ToFloats(features, out long[] featureShape), featureShape, graphs.ProjectorInputType);
        float[] rows;
        long[] rowShape;
        using (IDisposableReadOnlyCollection<OrtValue> embeds = graph.Run(run, ModelGraphs.ImageFeatures, converted ?? features, ModelGraphs.ImageEmbeds))
        {
            rows = OrtTensors.ToFloats(embeds[0], out rowShape);
        }

        projector = Stopwatch.GetElapsedTime(start);
        graph.RequireOutputShape(ModelGraphs.ImageEmbeds, rowShape, expected);
        return rows;
    }
}
