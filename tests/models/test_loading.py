"""Loading builds the model on the meta device without initialising weights it then replaces."""

import subprocess
import sys

import torch

from canvasedit.models.catalog import bundled_path
from canvasedit.models.loading import load_model, no_init


def test_no_init_leaves_torch_initialisers_as_they_were():
    before = torch.nn.init.normal_
    with no_init():
        assert torch.nn.init.normal_ is not before
        layer = torch.nn.Linear(3, 3, device="meta")
    assert torch.nn.init.normal_ is before
    assert layer.weight.is_meta
    # and outside it, initialisation runs again
    torch.manual_seed(0)
    assert torch.nn.Linear(3, 3).weight.abs().sum() > 0


def test_loaded_weights_are_the_checkpoint_s():
    from safetensors.torch import load_file

    loaded = load_model(bundled_path())
    stored = load_file(str(next(bundled_path().glob("*.safetensors"))))
    name, tensor = next(iter(stored.items()))
    params = dict(loaded.model.named_parameters())
    assert any(torch.equal(p.detach(), tensor) for p in params.values()), name


def test_loading_does_not_import_torch_compiler_machinery():
    # Initialising meta weights would import torch._dynamo (~150 MB resident, seconds of start-up).
    code = (
        "import sys\n"
        "from canvasedit.models.catalog import bundled_path\n"
        "from canvasedit.models.loading import load_model\n"
        "load_model(bundled_path())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False"
