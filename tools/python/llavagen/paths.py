"""Where the repository keeps its model data, found from this package's own location
(tools/python/llavagen/), so that every command writes to the same places whatever the working
directory."""
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODELS = os.path.join(REPO, "models")
FIXTURES = os.path.join(MODELS, "fixtures")
IMAGES = os.path.join(FIXTURES, "images")                 # the committed test images
GENERATED = os.path.join(MODELS, "generated")             # git ignores it
SHAPES = os.path.join(MODELS, "shapes")
GRAPH_CHECK = os.path.join(REPO, "tools", "GraphCheck")   # the .NET console that runs a folder's graph checks
POPE_EXCERPTS = os.path.join(MODELS, "pope-excerpts")     # the excerpts of POPE's question files
