using System.Text.Json;
using AttAnchor.GraphCheck;
using AttAnchor.OnnxRuntime;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;

namespace AttAnchor.OnnxRuntime.IntegrationTests;

/// <summary>
/// The library's image path against the Python reference (<c>tools/python/llavagen/imageproc.py</c>: Pillow
/// and NumPy): every fixture image, loaded from <c>models/fixtures/images/</c> with
/// <see cref="ModelImage.FromFile"/>, cropped in every resize mode the references have, must give PIL's
/// crop PNG byte for byte, and the normalised values NumPy's.
/// </summary>
public class PreprocessingTests(ITestOutputHelper output)
{
    /// <summary>One row per (fixture, image, resize mode) in the fixtures' references.json.</summary>
    public static TheoryData<string, string, string> Cases
    {
        get
        {
            var rows = new TheoryData<string, string, string>();
            foreach (string fixture in ReferenceCases.FixturesWithReferences())
            {
                foreach (ImageReference image in Fixtures.Get(fixture).References.Images)
                {
                    foreach (string mode in image.Modes.Keys)
                    {
                        rows.Add(fixture, image.Name, mode);
                    }
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_crop_is_PILs_byte_for_byte_and_the_pixel_values_NumPys(string fixture, string image, string mode)
    {
        FixtureModel model = Fixtures.Get(fixture);
        ImageModeReference reference = model.References.Images.Single(i => i.Name == image).Modes[mode];
        (double[] mean, double[] std) = MeanAndStd(model.Folder);
        int size = model.Settings.ImageSize;

        ModelImage loaded = ModelImage.FromFile(Path.Combine(Fixtures.FixturesFolder, "images", image));
        (int Width, int Height) expectedSize = LoadedSize(model, image);
        Assert.Equal(expectedSize, (loaded.Width, loaded.Height));

        byte[] crop = ImagePreprocessor.ResizeAndCrop(loaded, size, ResizeModes.Parse(mode, "references.json"), mean);

        PixelValues.RgbImage pil = PixelValues.ReadPng(Path.Combine(model.ReferencesFolder, reference.Crop));
        Assert.Equal((size, size), (pil.Width, pil.Height));
        int differing = 0, largest = 0;
        for (int i = 0; i < crop.Length; i++)
        {
            int difference = Math.Abs(crop[i] - pil.Rgb[i]);
            differing += difference == 0 ? 0 : 1;
            largest = Math.Max(largest, difference);
        }

        float[] meanF = [.. mean.Select(m => (float)m)];
        float[] stdF = [.. std.Select(s => (float)s)];
        var values = new float[3 * size * size];
        ImagePreprocessor.Normalize(crop, size, meanF, stdF, values);
        int plane = size * size;
        double largestSum = 0;
        for (int c = 0; c < 3; c++)
        {
            double sum = 0;
            foreach (float v in values.AsSpan(c * plane, plane))
            {
                sum += v;
            }

            largestSum = Math.Max(largestSum, Math.Abs(sum - reference.ChannelSums[c]) / Math.Max(1, Math.Abs(reference.ChannelSums[c])));
        }

        output.WriteLine($"{fixture} {image} {mode}: {differing} of {crop.Length} crop bytes differ from PIL's (largest difference {largest}); " +
            $"largest relative channel-sum difference from NumPy's {largestSum:E2}.");

        Assert.True(differing == 0, $"{differing} bytes differ from PIL's crop, by up to {largest}.");
        foreach (PixelSample s in reference.Samples)
        {
            Assert.Equal(s.Value, values[(s.C * plane) + (s.Y * size) + s.X]);
        }

        // NumPy sums pairwise and this sums in order, both in double: only the last bits may differ.
        Assert.True(largestSum <= 1e-9, $"channel sums differ from NumPy's by {largestSum:E2} (relative)");
    }

    [Fact]
    public void LoadImage_and_the_chat_client_follow_ModelOptions_ExifOrientation()
    {
        // exif_rotated.jpg is stored 360 × 240 with orientation 6: 240 × 360 when applied.
        string path = Path.Combine(Fixtures.FixturesFolder, "images", "exif_rotated.jpg");
        var messages = new[] { new ChatMessage(ChatRole.User, [new TextContent("What is it?"), new DataContent(File.ReadAllBytes(path), "image/jpeg")]) };
        Assert.Equal(ExifOrientationMode.Apply, ModelOptions.Default.ExifOrientation);
        foreach ((ExifOrientationMode mode, int width, int height) in new[] { (ExifOrientationMode.Apply, 240, 360), (ExifOrientationMode.Ignore, 360, 240) })
        {
            using VisionLanguageModel model = VisionLanguageModel.Open(Path.Combine(Fixtures.FixturesFolder, "tiny-336-gqa"), Pipelines.Cpu with { ExifOrientation = mode });
            ModelImage loaded = model.LoadImage(path);
            Assert.Equal((width, height), (loaded.Width, loaded.Height));
            Assert.Equal(ModelImage.FromFile(path, exifOrientation: mode).Rgb.ToArray(), loaded.Rgb.ToArray());

            using AttAnchorChatClient client = model.AsIChatClient();
            ChatRequest request = ChatRequest.Create(messages, null, client);
            Assert.Equal((width, height), (request.Image.Width, request.Image.Height));
        }
    }

    [Fact]
    public void The_large_fixture_image_resizes_in_each_mode_to_the_model_square_and_the_same_bytes_twice()
    {
        // How long this takes is the pipeline benchmark's "preprocess" stage, not a test's: a timed test fails on a loaded machine.
        ModelImage image = ModelImage.FromFile(Path.Combine(Fixtures.FixturesFolder, "images", "large.png"));
        Assert.Equal((1600, 1200), (image.Width, image.Height));
        double[] mean = [0.48145466, 0.4578275, 0.40821073];
        var full = new byte[448 * 336 * 3];
        var again = new byte[448 * 336 * 3];
        PilBicubic.Resize(image.Rgb.Span, 1600, 1200, 448, 336, full);
        PilBicubic.Resize(image.Rgb.Span, 1600, 1200, 448, 336, again);
        Assert.Equal(full, again);
        Assert.Contains(full, b => b != 0);

        foreach (ResizeMode mode in (ResizeMode[])[ResizeMode.ShortestEdgeCenterCrop, ResizeMode.PadToSquare])
        {
            byte[] square = ImagePreprocessor.ResizeAndCrop(image, 336, mode, mean);
            Assert.Equal(336 * 336 * 3, square.Length);
            Assert.Equal(square, ImagePreprocessor.ResizeAndCrop(image, 336, mode, mean));
        }
    }

    /// <summary><c>image_mean</c> and <c>image_std</c> as the JSON's doubles, as Python reads them.</summary>
    private static (double[] Mean, double[] Std) MeanAndStd(string folder)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "attanchor.json")));
        double[] Read(string name) => [.. document.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetDouble())];
        return (Read("image_mean"), Read("image_std"));
    }

    /// <summary>The image's <c>loaded_size</c> (after EXIF) in references.json.</summary>
    private static (int Width, int Height) LoadedSize(FixtureModel model, string image)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(model.ReferencesFolder, "references.json")));
        JsonElement entry = document.RootElement.GetProperty("images").EnumerateArray().Single(e => e.GetProperty("name").GetString() == image);
        JsonElement size = entry.GetProperty("loaded_size");
        return (size[0].GetInt32(), size[1].GetInt32());
    }
}
