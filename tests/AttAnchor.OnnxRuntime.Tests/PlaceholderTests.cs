namespace AttAnchor.OnnxRuntime.Tests;

public class PlaceholderTests;
