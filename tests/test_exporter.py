"""The exported ONNX model: interface, metadata, parity with PyTorch, and refusals."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from exporter.cli import main
from exporter.onnx_export import ExportError, check_inference_only, load_trained
from exporter.parity import run_torch, trainer_outputs
from fmnist_common.idx import load_test_set
from fmnist_common.interface import as_input
from trainer.config import TrainConfig
from trainer.model import build_model


def test_graph_interface(smoke_run):
    session = ort.InferenceSession(str(smoke_run / "model.onnx"), providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    assert image.name == "image" and image.type == "tensor(float)"
    assert isinstance(image.shape[0], str) and image.shape[1:] == [1, 28, 28]
    outputs = {o.name: o.shape for o in session.get_outputs()}
    assert list(outputs) == ["logits", "bottleneck"]
    assert outputs["logits"][1] == 10 and outputs["bottleneck"][1] == 2
    for batch in (1, 7, 1000):
        logits, z = session.run(None, {"image": np.zeros((batch, 1, 28, 28), np.float32)})
        assert logits.shape == (batch, 10) and z.shape == (batch, 2)


def test_graph_is_checked_inference_only_and_current(smoke_run):
    model = onnx.load(smoke_run / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    ops = {node.op_type for node in model.graph.node}
    assert "Dropout" not in ops
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            assert all(a.name != "training_mode" or a.i == 0 for a in node.attribute)
    checkpoint = torch.load(smoke_run / "checkpoint.pt", weights_only=True)
    assert any(name.startswith("auxiliary.") for name in checkpoint["model"])  # trained with it ...
    assert not any("auxiliary" in tensor.name for tensor in model.graph.initializer)  # ... exported without


def test_metadata_is_complete_and_parseable(smoke_run, data_dir):
    model = onnx.load(smoke_run / "model.onnx")
    meta = {p.key: p.value for p in model.metadata_props}
    history = json.loads((smoke_run / "history.json").read_text())
    _, _, sha256 = load_test_set(data_dir)
    assert json.loads(meta["class_names"])[0] == "T-shirt/top" and len(json.loads(meta["class_names"])) == 10
    assert meta["bottleneck_dim"] == "2" and meta["input_range"] == "0..1" and meta["squeeze_activation"] == "relu"
    assert float(meta["test_accuracy"]) == history[-1]["test_accuracy"]
    assert meta["dataset_sha256"] == sha256
    assert meta["epochs"] == "2" and meta["seed"] == "0" and meta["preset"] == "smoke"
    assert meta["created_by"].startswith("fmnist-bottleneck ") and meta["torch_version"] == torch.__version__


def test_export_report_proves_equality(smoke_run):
    report = json.loads((smoke_run / "export_report.json").read_text())
    assert report["passed"] is True and report["problems"] == []
    assert report["images"] == 10000 and report["torch_outputs"] == "the trainer's last test pass"
    assert report["max_abs_diff_logits"] <= 1e-4 and report["max_abs_diff_bottleneck"] <= 1e-4
    assert set(report["prediction_disagreements"]) <= set(report["near_ties"])
    assert report["onnx_accuracy"] == report["trainer_accuracy"] == report["torch_accuracy"]
    assert report["batch_sizes"] == [1, 7, 1000] and report["max_abs_diff_across_batch_sizes"] <= 1e-5
    assert report["consistency_tolerance"] == 1e-5 and report["tie_tolerance"] == 1e-4


def test_onnx_matches_the_checkpoint_on_real_images(smoke_run, data_dir):
    checkpoint = torch.load(smoke_run / "checkpoint.pt", weights_only=True)
    model = build_model(TrainConfig.from_json(checkpoint["config"]), 10).eval()
    assert model.tta_flip  # the graph holds the flip averaging too
    model.load_state_dict(checkpoint["model"])
    images, _, _ = load_test_set(data_dir)
    x = images[:64, None].astype(np.float32) / 255
    session = ort.InferenceSession(str(smoke_run / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, z = session.run(["logits", "bottleneck"], {"image": x})
    with torch.no_grad():
        ref_logits, ref_z = model(torch.from_numpy(x))
    assert np.abs(logits - ref_logits.numpy()).max() <= 1e-4
    assert np.abs(z - ref_z.numpy()).max() <= 1e-4


def test_the_trainers_recorded_outputs_are_the_models_own(smoke_run, data_dir):
    """The parity check reads the trainer's last fp32 test pass instead of running the model again:
    that pass must be what the checkpoint's weights compute."""
    model, checkpoint = load_trained(smoke_run / "checkpoint.pt")
    images, _, _ = load_test_set(data_dir)
    recorded = trainer_outputs(checkpoint, images)
    for recorded_output, own in zip(recorded, run_torch(model, as_input(images)), strict=True):
        assert recorded_output.shape == own.shape and np.abs(recorded_output - own).max() <= 1e-5
    assert trainer_outputs(checkpoint, images[:100]) is None  # another test set: the exporter's own pass


def test_recorded_outputs_that_the_graph_does_not_reproduce_are_refused(run_copy, data_dir, capsys):
    before = digest(run_copy / "model.onnx")
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    checkpoint["test_bottleneck"][5] += 0.01  # as if the weights had changed after the last test pass
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    assert main(["--run", str(run_copy), "--data-dir", str(data_dir)]) == 2
    assert "max_abs_diff_bottleneck = 0.01 exceeds 0.0001" in capsys.readouterr().err
    assert digest(run_copy / "model.onnx") == before


def graph_of(*nodes: onnx.NodeProto) -> onnx.GraphProto:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 2])
    return onnx.helper.make_graph(list(nodes), "hand_built", [x], [y])


def batch_norm(**attributes) -> onnx.NodeProto:
    return onnx.helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"],
                                 name="bn", **attributes)


@pytest.mark.parametrize(
    ("nodes", "refused"),
    [
        ([batch_norm(training_mode=1)], "BatchNormalization 'bn'"),
        ([onnx.helper.make_node("Dropout", ["x"], ["y"], name="drop")], "Dropout 'drop'"),
        ([batch_norm(training_mode=1), onnx.helper.make_node("Dropout", ["y"], ["z"], name="drop")],
         "BatchNormalization 'bn', Dropout 'drop'"),
    ],
    ids=["batch-norm-training-mode", "dropout", "both"],
)
def test_training_only_nodes_are_refused(nodes, refused):
    with pytest.raises(ExportError) as error:
        check_inference_only(graph_of(*nodes))
    assert str(error.value) == f"the exported graph still holds training-only nodes: {refused}"


@pytest.mark.parametrize("attributes", [{}, {"training_mode": 0}], ids=["default", "training-mode-0"])
def test_inference_batch_norm_passes(attributes):
    check_inference_only(graph_of(batch_norm(**attributes)))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_checkpoint(tmp_path, data_dir, capsys):
    assert main(["--run", str(tmp_path), "--data-dir", str(data_dir)]) == 2
    assert capsys.readouterr().err == f'error: {tmp_path / "checkpoint.pt"} not found; run "make train" first\n'


def test_checkpoint_of_another_width_leaves_the_model_untouched(run_copy, data_dir, capsys):
    before = digest(run_copy / "model.onnx")
    checkpoint = torch.load(run_copy / "checkpoint.pt", weights_only=True)
    checkpoint["config"]["bottleneck_dim"] = 3  # the weights are still those of a 2-D bottleneck
    torch.save(checkpoint, run_copy / "checkpoint.pt")
    assert main(["--run", str(run_copy), "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run_copy / 'checkpoint.pt'} does not fit the architecture its config "
                          "describes (widths (8, 16, 16), bottleneck 3): ")
    assert digest(run_copy / "model.onnx") == before


def test_foreign_file_as_checkpoint(run_copy, data_dir, capsys):
    torch.save({"weights": torch.zeros(3)}, run_copy / "checkpoint.pt")
    assert main(["--run", str(run_copy), "--data-dir", str(data_dir)]) == 2
    assert "is not a checkpoint written by \"python -m trainer train\"" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_folder(run_copy, data_dir, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    assert main(["--run", str(run_copy), "--data-dir", str(data_dir), "--out", str(locked / "m.onnx")]) == 2
    assert capsys.readouterr().err == f"error: cannot write into {locked}; choose a writable --out\n"


def test_unwritable_output_path(run_copy, data_dir, capsys):
    blocker = run_copy / "file"
    blocker.write_text("not a folder")
    assert main(["--run", str(run_copy), "--data-dir", str(data_dir), "--out", str(blocker / "m.onnx")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot write into ")
