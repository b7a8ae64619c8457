"""Serving handler for the SageMaker PyTorch inference container (`code/inference.py` in model.tar.gz).

It answers like SageMaker's built-in image-classification algorithm, so data capture, monitoring, evaluation,
the inference workflow and the prediction page read both kinds of model the same way:

- request: one raw image, `Content-Type` application/x-image, image/jpeg, image/png or image/webp;
- response: `Accept` application/json (the default): a JSON list of class probabilities in the order of
  class_map.json, e.g. `[0.01, 0.97, 0.02]`; application/jsonlines: `{"prediction": [...]}` on one line.

The model directory is what train.py writes: model.pth (a state dict), class_map.json (architecture,
classes, image shape) and this file under code/.
"""

import io
import json
import os

import torch
import torchvision
from PIL import Image, UnidentifiedImageError

IMAGE_CONTENT_TYPES = ("application/x-image", "image/jpeg", "image/png", "image/webp")
JSON = "application/json"
JSON_LINES = "application/jsonlines"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

try:  # the inference toolkit maps this error to HTTP 415 Unsupported Media Type
    from sagemaker_inference.errors import UnsupportedFormatError
except ImportError:  # outside the container

    class UnsupportedFormatError(ValueError):
        def __init__(self, content_type, **kwargs):
            super().__init__(f"Content type {content_type} is not supported by this framework.")


class ImageClassifier:
    def __init__(self, network, classes, image_shape, device):
        from torchvision import transforms as T

        channels, height, width = image_shape
        steps = [T.Grayscale(num_output_channels=3)] if channels == 1 else []
        self.transform = T.Compose(steps + [T.Resize((height, width)), T.ToTensor(), T.Normalize(MEAN, STD)])
        self.network, self.classes, self.device = network, classes, device


def model_fn(model_dir):
    with open(os.path.join(model_dir, "class_map.json")) as f:
        meta = json.load(f)
    classes = meta["classes"]
    models = torchvision.models
    build = models.get_model if hasattr(models, "get_model") else (lambda name, **kw: getattr(models, name)(**kw))
    network = build(meta["architecture"], weights=None, num_classes=len(classes))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network.load_state_dict(torch.load(os.path.join(model_dir, "model.pth"), map_location=device))
    network.to(device).eval()
    return ImageClassifier(network, classes, meta["image_shape"], device)


def input_fn(request_body, request_content_type):
    content_type = (request_content_type or "").split(";")[0].strip().lower()
    if content_type not in IMAGE_CONTENT_TYPES:
        raise UnsupportedFormatError(content_type)
    try:
        with Image.open(io.BytesIO(request_body)) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"the request body is not a decodable image ({content_type}): {e}") from e


def predict_fn(input_object, model):
    batch = model.transform(input_object).unsqueeze(0).to(model.device)
    with torch.no_grad():
        probabilities = torch.softmax(model.network(batch), dim=1)[0]
    return [float(p) for p in probabilities.cpu()]


def output_fn(prediction, accept):
    accept = (accept or JSON).split(";")[0].strip().lower()
    if accept in (JSON, "*/*", "application/*"):
        return json.dumps(prediction), JSON
    if accept == JSON_LINES:
        return json.dumps({"prediction": prediction}) + "\n", JSON_LINES
    raise UnsupportedFormatError(accept)
