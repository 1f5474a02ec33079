using AttAnchor.FullSize;

// The full-size benchmark: see README.md next to this file.
//   run [--model DIR] [--runs N] [--out DIR] [--skip-pytorch]     the whole benchmark, one child process per system
//   measure ours|plain-ort|pytorch --model DIR --runs N [...]      one system; JSON lines on stdout
//   measure six --model DIR --runs N [...]                         six questions about one image, from scratch and from an ImageSession
try
{
    return args switch
    {
        ["run", .. var rest] => await FullRun.RunAsync(Arguments.Parse(rest)),
        ["measure", "ours", .. var rest] => await OursMeasure.RunAsync(Arguments.Parse(rest)),
        ["measure", "plain-ort", .. var rest] => PlainOrtLoop.Run(Arguments.Parse(rest)),
        ["measure", "pytorch", .. var rest] => await PytorchMeasure.RunAsync(Arguments.Parse(rest)),
        ["measure", "six", .. var rest] => await SixMeasure.RunAsync(Arguments.Parse(rest)),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return Usage();
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          AttAnchor.FullSize run [--model DIR] [--runs N (5)] [--out DIR (docs)] [--skip-pytorch] [--warmup N (1)] [--threads N (2)] [--six-runs N (3)] [--six-new-tokens N (2)] [--skip-six]
          AttAnchor.FullSize measure ours --model DIR --runs N [--warmup 1] [--threads 2] [--label NAME] [--settings all|off]
          AttAnchor.FullSize measure plain-ort --model DIR --runs N [--warmup 1]
          AttAnchor.FullSize measure pytorch --model DIR --runs N
          AttAnchor.FullSize measure six --model DIR --runs N [--warmup 1] [--threads 2] [--new-tokens 2]
        """);
    return 2;
}
