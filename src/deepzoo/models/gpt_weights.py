"""OpenAI's released GPT-2 weights by name: ``weights="hf:gpt2"`` (``hf:gpt2-medium``, ``hf:gpt2-large``,
``hf:gpt2-xl``, or any ``hf:OWNER/NAME`` repository in GPT-2's format).

The files come through the Hugging Face hub's own cache, the place where ``transformers`` keeps them too:
``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``, in its layout
``models--gpt2/snapshots/<commit>/{config.json,model.safetensors,tokenizer.json}`` with
``models--gpt2/refs/main`` holding the commit. A file already there is read with no network access;
a missing one is downloaded once with :func:`huggingface_hub.hf_hub_download`, and only when
``DEEPZOO_OFFLINE`` is unset and the network answers — otherwise one line names the repository, the
missing files, their URLs and the cache folder (:func:`deepzoo.downloads.fetch`).

``config.json`` gives the size (``n_layer``, ``n_head``, ``n_embd``, ``n_positions``, ``vocab_size``), so
``--model gpt2 --weights hf:gpt2-medium`` builds the medium model. ``model.safetensors`` is mapped onto
deepzoo's names (:func:`convert_gpt2_state`) and loaded completely or not at all
(:func:`deepzoo.models._weights.load_state`): a checkpoint whose tensors do not fit the size its config
announces is refused in one line naming them. ``tokenizer.json`` is GPT-2's byte-level BPE
(:func:`hub_tokenizer`, with the interface of deepzoo's own tokenizers).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from ..downloads import fetch
from ..errors import ConfigError

PREFIX = "hf:"
CONFIG, WEIGHTS, TOKENIZER = "config.json", "model.safetensors", "tokenizer.json"
HUB_URL = "https://huggingface.co"
#: GPT-2's Conv1D layers store (in, out) matrices, the transpose of nn.Linear's weight
CONV1D = re.compile(r"h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight")
#: the causal-mask buffers in OpenAI's files (not parameters; deepzoo's attention masks by itself)
MASK_BUFFERS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")
#: config.json key → deepzoo's constructor argument
SIZE_KEYS = {"vocab_size": "vocab_size", "n_positions": "block_size", "n_layer": "n_layer", "n_head": "n_head",
             "n_embd": "n_embd"}


def is_hub_weights(spec: Any) -> bool:
    """Whether ``spec`` names weights on the Hugging Face hub (``hf:REPO``) rather than a file."""
    return isinstance(spec, str) and spec.startswith(PREFIX)


def hub_repo(spec: str) -> str:
    """The repository id of ``hf:REPO``; an empty or malformed one is one line."""
    repo = spec[len(PREFIX):]
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", repo):
        raise ConfigError(f"weights {spec!r}: name a hub repository, e.g. hf:gpt2 or hf:openai-community/gpt2-medium")
    return repo


def hub_cache() -> Path:
    """The Hugging Face hub's cache folder, read from the environment at call time (as the hub resolves it)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def hub_files(spec: str, files: tuple[str, ...] = (CONFIG, WEIGHTS, TOKENIZER)) -> dict[str, Path]:
    """The cached paths of ``files`` of the repository ``spec`` names, downloading the missing ones once
    (see the module docstring); offline or without network, one line names what is missing and where."""
    from huggingface_hub import try_to_load_from_cache

    repo, cache = hub_repo(spec), hub_cache()
    found = {name: try_to_load_from_cache(repo, name, cache_dir=cache) for name in files}
    paths = {name: Path(path) for name, path in found.items() if isinstance(path, str)}
    missing = [name for name in files if name not in paths]
    if missing:
        folder = cache / f"models--{repo.replace('/', '--')}"
        paths.update(fetch(f"{spec} ({', '.join(missing)})", lambda: _download(repo, missing, cache),
                           [f"{HUB_URL}/{repo}/resolve/main/{name}" for name in missing],
                           f"{folder}/snapshots/COMMIT/ (with {folder}/refs/main holding COMMIT)", ConfigError))
    return paths


def _download(repo: str, names: list[str], cache: Path) -> dict[str, Path]:
    """``hf_hub_download`` of each file; the hub's "not reachable and not cached" becomes a network error
    (what :func:`fetch` reports), and a repository or file the hub does not have is one line."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    paths = {}
    for name in names:
        try:
            paths[name] = Path(hf_hub_download(repo, name, cache_dir=cache))
        except LocalEntryNotFoundError as err:
            raise ConnectionError(str(err).split(".")[0]) from err
        except (EntryNotFoundError, HfHubHTTPError) as err:
            raise ConfigError(f"hf:{repo}: the hub has no {name} there ({type(err).__name__})") from None
    return paths


def gpt2_sizes(config_path: Path) -> dict[str, int]:
    """deepzoo's size arguments from a GPT-2 ``config.json``; anything deepzoo's GPT does not compute the
    same way (another activation, layer-norm epsilon) is refused in one line."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{config_path}: not a readable config.json ({type(err).__name__})") from None
    missing = [key for key in SIZE_KEYS if not isinstance(config.get(key), int)]
    if missing:
        raise ConfigError(f"{config_path}: not a GPT-2 config (no integer {', '.join(missing)})")
    activation, epsilon = config.get("activation_function", "gelu_new"), config.get("layer_norm_epsilon", 1e-5)
    if activation not in ("gelu_new", "gelu_pytorch_tanh") or epsilon != 1e-5:
        raise ConfigError(f"{config_path}: activation {activation} with layer-norm epsilon {epsilon}; deepzoo's "
                          "GPT computes GELU's tanh approximation (gelu_new) with epsilon 1e-5, as GPT-2")
    return {ours: config[theirs] for theirs, ours in SIZE_KEYS.items()}


def convert_gpt2_state(state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """GPT-2's tensor names and layouts (OpenAI's files, or ``transformers``' ``GPT2LMHeadModel`` with its
    ``transformer.`` prefix) mapped onto deepzoo's GPT: the prefix and the attention-mask buffers go, the
    Conv1D weights are transposed, and a stored ``lm_head.weight`` must equal the tied ``wte.weight``."""
    out = {}
    for key, tensor in state.items():
        key = key.removeprefix("transformer.")
        if MASK_BUFFERS.fullmatch(key):
            continue
        out[key] = tensor.t().contiguous() if CONV1D.fullmatch(key) and tensor.ndim == 2 else tensor
    head, embedding = out.get("lm_head.weight"), out.get("wte.weight")
    if head is not None and embedding is not None and not torch.equal(head, embedding):
        raise ConfigError(f"{source}: lm_head.weight differs from wte.weight; deepzoo's GPT ties them, as GPT-2")
    return out


def load_hub_gpt(name: str, spec: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """The zoo model ``name`` (a ``gpt`` family model) sized by the repository's ``config.json`` and
    loaded with its ``model.safetensors``; ``kwargs`` may add ``dropout``, and a size argument must agree
    with the file's."""
    from safetensors.torch import load_file

    from . import model_entry
    from ._weights import load_state

    if model_entry(name).meta.get("family") != "gpt":
        raise ConfigError(f"weights {spec}: hub weights are GPT-2's; use them with --model gpt2, not {name}")
    paths = hub_files(spec)
    sizes = gpt2_sizes(paths[CONFIG])
    clashes = [f"{key}={kwargs[key]} (the file's is {value})" for key, value in sizes.items()
               if key in kwargs and kwargs[key] != value]
    if clashes:
        raise ConfigError(f"weights {spec}: {', '.join(clashes)}; the weights fix the model's size")
    model = model_entry(name).factory(**{**kwargs, **sizes})
    try:
        state = load_file(str(paths[WEIGHTS]))
    except Exception as err:  # noqa: BLE001 - any parse failure is a bad file
        raise ConfigError(f"{paths[WEIGHTS]}: not a readable safetensors file ({type(err).__name__})") from None
    load_state(model, convert_gpt2_state(state, str(paths[WEIGHTS])), f"{spec} ({paths[WEIGHTS]})")
    model.hub_weights = spec
    return model


def hub_tokenizer(spec: str):
    """GPT-2's byte-level BPE tokenizer from the repository's ``tokenizer.json`` (downloaded once like the
    weights), with deepzoo's tokenizer interface (``encode``, ``decode``, ``vocab_size``, ``eot_id``)."""
    from ..data.tokenizers import tokenizer_from_file

    return tokenizer_from_file(hub_files(spec, (TOKENIZER,))[TOKENIZER])
