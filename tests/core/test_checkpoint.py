"""core/checkpoint.py: what a checkpoint must hold to resume a run."""
import pytest


def test_a_checkpoint_without_training_state_cannot_resume(tmp_path):
    import torch

    from core.checkpoint import load_checkpoint, restore_training, save_checkpoint
    from core.errors import InputError

    model = torch.nn.Linear(2, 2)
    save_checkpoint(tmp_path / "w.pt", {"task": "lifting", "model": {}, "config": {}, "skeleton": "h36m16",
                                        "state_dict": model.state_dict()})
    ckpt = load_checkpoint(tmp_path / "w.pt", "lifting")
    with pytest.raises(InputError, match=r"w.pt: checkpoint has no 'optimizer', so a run cannot resume from it$"):
        restore_training(ckpt, tmp_path / "w.pt", model, torch.optim.Adam(model.parameters()),
                         torch.Generator(), None)
