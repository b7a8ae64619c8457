"""Image-classification training in the SageMaker PyTorch training container (script mode).

SageMaker runs `python train.py --key value ...` with the training job's hyperparameters and these folders:

- SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION: `<class>/<image>` folders and `class_map.json` (`{"classes": [...]}`,
  the model's classes in the order of their indices), as the platform's preprocess job writes them;
- SM_CHANNEL_WEIGHTS (optional): a `.pth` state dict to start from (e.g. ImageNet weights saved with
  `torch.save(model.state_dict(), path)`), for jobs that cannot reach download.pytorch.org;
- SM_MODEL_DIR: where `model.pth`, `class_map.json` and `code/inference.py` go (SageMaker packs the folder as
  model.tar.gz, which the PyTorch inference container serves with `inference.py`);
- /opt/ml/checkpoints (`--checkpoint_dir`): synced to S3 by CheckpointConfig; a job restarted after a spot
  interruption resumes from the last completed epoch.

Weights: a state dict in the weights channel when there is one; otherwise torchvision's pretrained weights for
the architecture when they can be downloaded (`--weights imagenet`, the default); otherwise random
initialisation, said in the log. Early stopping watches validation accuracy; the best epoch's weights are the
ones saved. Every epoch prints one line of metrics (`METRIC_LINE`) that the step's MetricDefinitions parse.
"""

import argparse
import json
import os
import random
import shutil
import socket
import sys
import time

import torch
import torch.nn as nn
import torchvision
from PIL import Image

CLASS_MAP_FILE = "class_map.json"
CHECKPOINT_FILE = "checkpoint.pth"
BEST_FILE = "best.pth"
MODEL_FILE = "model.pth"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
# ImageNet statistics: torchvision's pretrained weights expect inputs normalised with them.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
METRIC_LINE = (
    "epoch={epoch} train_loss={train_loss:.6f} train_accuracy={train_accuracy:.6f} "
    "validation_loss={validation_loss:.6f} validation_accuracy={validation_accuracy:.6f} "
    "best_validation_accuracy={best:.6f} epoch_seconds={seconds:.3f}"
)


def log(message):
    print(message, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--architecture", required=True, help="torchvision model name, e.g. resnet50, efficientnet_b0, vit_b_16")
    p.add_argument("--image_shape", default="3,224,224", help="channels,height,width")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--learning_rate", type=float, default=0.001)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--early_stopping", type=str2bool, default=True)
    p.add_argument("--patience", type=int, default=5, help="epochs without a better validation accuracy before stopping")
    p.add_argument("--min_epochs", type=int, default=10, help="epochs always run before early stopping may stop")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--weights", default="imagenet", choices=["imagenet", "none"], help="without a weights channel")
    p.add_argument("--optimizer", default="adamw", choices=["adamw", "sgd"])
    p.add_argument("--momentum", type=float, default=0.9, help="sgd only")
    p.add_argument("--weight_decay", type=float, default=0.0001)
    p.add_argument("--label_smoothing", type=float, default=0.0)
    p.add_argument("--augmentation", default="crop", choices=["none", "crop", "crop_flip"])
    p.add_argument("--num_workers", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--download_timeout", type=float, default=30.0, help="seconds to wait for pretrained weights")
    p.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    p.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"))
    p.add_argument("--weights_dir", default=os.environ.get("SM_CHANNEL_WEIGHTS"))
    p.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    p.add_argument("--checkpoint_dir", default="/opt/ml/checkpoints")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        log(f"warning: ignoring hyperparameters this script does not know: {' '.join(unknown)}")
    return args


def str2bool(value):
    if isinstance(value, bool):
        return value
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def read_classes(folder):
    """The class list of a channel: its class_map.json, or (for data laid out by hand) the sorted folder names."""
    path = os.path.join(folder, CLASS_MAP_FILE)
    if os.path.exists(path):
        with open(path) as f:
            return list(json.load(f)["classes"])
    return sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))


class ImageFolderDataset(torch.utils.data.Dataset):
    """`<class>/<image>` under `root`, labelled by the index of the class in `classes` (not alphabetical order)."""

    def __init__(self, root, classes, transform):
        self.samples = []
        index = {c: i for i, c in enumerate(classes)}
        for name in sorted(os.listdir(root)):
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                continue
            if name not in index:
                raise SystemExit(f"{folder}: {name!r} is not one of the model's classes ({', '.join(classes)})")
            for file in sorted(os.listdir(folder)):
                if file.lower().endswith(IMAGE_SUFFIXES):
                    self.samples.append((os.path.join(folder, file), index[name]))
        if not self.samples:
            raise SystemExit(f"{root} has no images; expected <class>/<image> folders")
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, label = self.samples[i]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), label


def transforms_for(channels, height, width, augmentation, train):
    from torchvision import transforms as T

    steps = []
    if channels == 1:
        # Grey images on a 3-channel network: the one channel repeated, as torchvision's pretrained models expect.
        steps.append(T.Grayscale(num_output_channels=3))
    if train and augmentation in ("crop", "crop_flip"):
        steps.append(T.RandomResizedCrop((height, width), scale=(0.6, 1.0), ratio=(0.9, 1.1)))
        if augmentation == "crop_flip":
            steps.append(T.RandomHorizontalFlip())
    else:
        steps.append(T.Resize((height, width)))
    steps += [T.ToTensor(), T.Normalize(MEAN, STD)]
    return T.Compose(steps)


def build_model(architecture, num_classes):
    models = torchvision.models
    if hasattr(models, "get_model"):
        return models.get_model(architecture, weights=None, num_classes=num_classes)
    return getattr(models, architecture)(weights=None, num_classes=num_classes)


def pretrained_state_dict(architecture, timeout):
    """torchvision's default pretrained weights for the architecture, or None when they cannot be had."""
    models = torchvision.models
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        weights = models.get_model_weights(architecture).DEFAULT
        return weights.get_state_dict(progress=False), f"torchvision {weights}"
    except Exception as e:  # no network (network isolation), no weights for the name, a broken download
        log(f"warning: pretrained weights for {architecture} unavailable ({type(e).__name__}: {e})")
        return None, None
    finally:
        socket.setdefaulttimeout(previous)


def load_matching(model, state, source):
    """Loads every tensor of `state` whose name and shape match the model; the classifier head usually does not."""
    own = model.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(set(own) - set(matching))
    if not matching:
        raise SystemExit(f"{source}: no tensor matches the model's; is it a state dict of this architecture?")
    model.load_state_dict(matching, strict=False)
    log(f"weights: {len(matching)} tensors from {source}; newly initialised: {', '.join(skipped) or 'none'}")


def initial_weights(model, args):
    if args.weights_dir and os.path.isdir(args.weights_dir):
        files = sorted(f for f in os.listdir(args.weights_dir) if f.endswith((".pth", ".pt")))
        if not files:
            raise SystemExit(f"weights channel {args.weights_dir} has no .pth or .pt file")
        path = os.path.join(args.weights_dir, files[0])
        state = torch.load(path, map_location="cpu")
        load_matching(model, state.get("state_dict", state) if isinstance(state, dict) else state, path)
        return
    if args.weights == "imagenet":
        state, source = pretrained_state_dict(args.architecture, args.download_timeout)
        if state is not None:
            load_matching(model, state, source)
            return
    log("weights: random initialisation (no weights channel and no pretrained weights)")


def atomic_save(obj, path):
    temp = f"{path}.tmp-{os.getpid()}"
    torch.save(obj, temp)
    os.replace(temp, path)


def run_epoch(model, loader, criterion, device, optimizer=None):
    model.train(optimizer is not None)
    total, correct, loss_sum = 0, 0, 0.0
    with torch.set_grad_enabled(optimizer is not None):
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            loss = criterion(outputs, labels)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            loss_sum += loss.item() * labels.size(0)
            correct += (outputs.argmax(1) == labels).sum().item()
            total += labels.size(0)
    return loss_sum / total, correct / total


def main(argv):
    args = parse_args(argv)
    channels, height, width = (int(x) for x in args.image_shape.split(","))
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    classes = read_classes(args.train)
    validation_classes = read_classes(args.validation)
    if validation_classes != classes:
        raise SystemExit(f"train and validation class maps differ: {classes} vs {validation_classes}")
    train_set = ImageFolderDataset(args.train, classes, transforms_for(channels, height, width, args.augmentation, True))
    validation_set = ImageFolderDataset(args.validation, classes, transforms_for(channels, height, width, "none", False))
    loader = lambda ds, shuffle: torch.utils.data.DataLoader(  # noqa: E731
        ds, batch_size=args.batch_size, shuffle=shuffle, num_workers=args.num_workers, pin_memory=device.type == "cuda"
    )
    train_loader, validation_loader = loader(train_set, True), loader(validation_set, False)
    log(f"data: {len(train_set)} train, {len(validation_set)} validation images, {len(classes)} classes, {device}")

    model = build_model(args.architecture, len(classes)).to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.momentum, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)

    os.makedirs(args.checkpoint_dir, exist_ok=True)
    checkpoint_path = os.path.join(args.checkpoint_dir, CHECKPOINT_FILE)
    best_path = os.path.join(args.checkpoint_dir, BEST_FILE)
    identity = {"architecture": args.architecture, "classes": classes, "image_shape": [channels, height, width]}
    start_epoch, best, stale, stopped = 1, -1.0, 0, False
    if os.path.exists(checkpoint_path):
        state = torch.load(checkpoint_path, map_location="cpu")
        if state.get("identity") != identity:
            raise SystemExit(
                f"{checkpoint_path} was written for {state.get('identity')}, not {identity}; "
                "clear the checkpoint location or train with the settings it was made with"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, stale, stopped = state["epoch"] + 1, state["best_validation_accuracy"], state["stale_epochs"], state["stopped"]
        log(f"resuming from {checkpoint_path}: epoch {state['epoch']} done, best validation accuracy {best:.6f}")
    else:
        initial_weights(model, args)

    epoch = start_epoch
    while epoch <= args.epochs and not stopped:
        started = time.monotonic()
        train_loss, train_accuracy = run_epoch(model, train_loader, criterion, device, optimizer)
        validation_loss, validation_accuracy = run_epoch(model, validation_loader, criterion, device)
        if validation_accuracy > best:
            best, stale = validation_accuracy, 0
            atomic_save({"model": model.state_dict(), "epoch": epoch, "validation_accuracy": best}, best_path)
        else:
            stale += 1
        log(
            METRIC_LINE.format(
                epoch=epoch,
                train_loss=train_loss,
                train_accuracy=train_accuracy,
                validation_loss=validation_loss,
                validation_accuracy=validation_accuracy,
                best=best,
                seconds=time.monotonic() - started,
            )
        )
        stopped = args.early_stopping and epoch >= args.min_epochs and stale >= args.patience
        if stopped:
            log(f"early stopping after epoch {epoch}: no better validation accuracy for {stale} epochs")
        # The checkpoint is written last, so an interruption before it repeats the epoch rather than skipping it.
        atomic_save(
            {
                "identity": identity,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "best_validation_accuracy": best,
                "stale_epochs": stale,
                "stopped": stopped,
            },
            checkpoint_path,
        )
        epoch += 1

    best_state = torch.load(best_path, map_location="cpu")
    write_model_dir(args.model_dir, best_state["model"], identity)
    log(f"model: epoch {best_state['epoch']} (validation accuracy {best_state['validation_accuracy']:.6f}) -> {args.model_dir}")


def write_model_dir(model_dir, state_dict, identity):
    """model.pth, class_map.json and code/inference.py: what the inference container loads."""
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    torch.save(state_dict, os.path.join(model_dir, MODEL_FILE))
    with open(os.path.join(model_dir, CLASS_MAP_FILE), "w") as f:
        json.dump(identity, f, indent=2)
        f.write("\n")
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copyfile(os.path.join(here, "inference.py"), os.path.join(model_dir, "code", "inference.py"))


if __name__ == "__main__":
    main(sys.argv[1:])
