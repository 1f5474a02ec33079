"""The places llavagen.paths names are where the repository keeps them: a folder that moves must
take its constant with it, or the commands that read or run it fail far from the cause."""
import os

from llavagen import paths


def test_the_data_folders_exist():
    for folder in (paths.MODELS, paths.FIXTURES, paths.IMAGES, paths.SHAPES, paths.POPE_EXCERPTS):
        assert os.path.isdir(folder), folder


def test_graph_check_is_the_dotnet_project():
    # generate.py runs `dotnet run --project paths.GRAPH_CHECK`.
    assert os.path.isfile(os.path.join(paths.GRAPH_CHECK, "GraphCheck.csproj")), paths.GRAPH_CHECK


def test_generated_is_ignored_by_git():
    with open(os.path.join(paths.REPO, ".gitignore"), encoding="utf-8") as f:
        ignored = f.read().split()
    assert any(line.strip("/") == "models/generated" for line in ignored), ignored
