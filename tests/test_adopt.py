"""Adoption of Keras/tf2onnx- and PyTorch-shaped graphs, of our own model, and its refusals.

The foreign graphs (tests/foreign.py) are adopted through `main([...])`; the adopted model's
logits and bottleneck are checked against the original's tensors, run by onnxruntime one image at a
time, outside the command's own proof. Every refusal is one exact line, and leaves nothing at OUT.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from analyzer.onnx_model import load
from exporter.adopt import proof
from exporter.adopt.cli import main
from fmnist_common.idx import load_test_set
from fmnist_common.interface import run_batches
from site_renderer import overview
from tests import foreign
from tests.conftest import REPO
from tests.handmade import FMNIST

CHECKED = 200  # test images run through the original one at a time
NO_TORCH = ("import sys\n"
            "for name in ('torch', 'torchvision', 'trainer'):\n"
            "    sys.modules[name] = None  # any import of them now raises ImportError\n")


def original_tensors(model: onnx.ModelProto, feed: np.ndarray, names: list[str]) -> list[np.ndarray]:
    """The original's tensors `names` for each image of `feed` run alone, stacked."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    session = ort.InferenceSession(copy.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = [session.run(names, {session.get_inputs()[0].name: x[None]}) for x in feed]
    return [np.concatenate([r[i] for r in rows]) for i in range(len(names))]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# kind -> (model, its input for uint8 images x, flags, what `adopted_from` records)
KINDS = {
    "keras NHWC": (foreign.keras_nhwc, lambda x: x[..., None] / 255, [], ("nhwc", "0..1", [])),
    "keras [N,28,28] with Identity": (foreign.keras_hw, lambda x: x / 255, [], ("hw", "0..1", [])),
    "torch batch 1, -1..1, LogSoftmax": (foreign.torch_fixed_batch, lambda x: x[:, None] / 127.5 - 1,
                                         ["--input-range", "-1..1"],
                                         ("nchw", "-1..1", ["input batch 1 -> N",
                                                            "Reshape '/Reshape' shape [1, 784] -> [-1, 784]"])),
    "IR 3 opset 8": (foreign.ir3_opset8, lambda x: x[:, None] / 255, [], ("nchw", "0..1", [])),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_foreign_graph_is_adopted_computing_the_same(kind, data_dir, tmp_path):
    build, as_input, flags, (layout, input_range, rewritten) = KINDS[kind]
    source = build()
    onnx.save(source, tmp_path / "in.onnx")
    out = tmp_path / "out" / "model.onnx"
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir), *flags]) == 0
    images = load_test_set(data_dir)[0][:CHECKED]
    scores, hidden = original_tensors(source, as_input(images.astype(np.float32)).astype(np.float32),
                                      [source.graph.output[0].name, "hidden"])
    model = load(out)
    logits, coords = run_batches(model.session, images, CHECKED)
    np.testing.assert_allclose(softmax(logits), np.exp(scores) if "LogSoftmax" in kind else scores, atol=1e-6)
    np.testing.assert_allclose(coords, hidden, atol=1e-5)
    adopted = onnx.load(out)
    assert (adopted.ir_version, adopted.opset_import) == (source.ir_version, source.opset_import)
    adopted_from = json.loads(model.metadata["adopted_from"])
    assert (adopted_from["input"]["layout"], adopted_from["input"]["range"], adopted_from["rewritten"]) == (
        layout, input_range, rewritten)
    assert adopted_from["bottleneck"] == {"tensor": "hidden", "dim": foreign.HIDDEN, "derived": adopted_from[
        "bottleneck"]["derived"]}
    assert model.class_names == FMNIST and model.bottleneck_dim == foreign.HIDDEN


def test_a_model_with_external_data_is_adopted(data_dir, tmp_path):
    onnx.save(foreign.keras_nhwc(), tmp_path / "model.onnx", save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    out = tmp_path / "adopted.onnx"
    assert main([str(tmp_path / "model.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0
    initializers = onnx.load(out, load_external_data=False).graph.initializer
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adopt_report.json", "adopted.onnx", "model.onnx",
                                                          "weights.bin"]
    assert not any(onnx.external_data_helper.uses_external_data(t) for t in initializers)
    assert load(out).bottleneck_dim == foreign.HIDDEN


def test_a_bottleneck_named_by_its_node_is_flattened(data_dir, tmp_path, capsys):
    onnx.save(foreign.keras_nhwc(), tmp_path / "in.onnx")
    out = tmp_path / "model.onnx"
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir),
                 "--bottleneck", "<flatten/Reshape"]) == 0
    assert ("  bottleneck  'nchw': 784 units, the input of Reshape 'flatten/Reshape', as asked\n"
            "  rewritten   bottleneck 'nchw' flattened to [N, D]\n"
            "  pruned      1 node no output needs\n") in capsys.readouterr().out
    images = load_test_set(data_dir)[0]
    _, coords = run_batches(load(out).session, images, 1000)
    np.testing.assert_array_equal(coords, images.reshape(-1, 784).astype(np.float32) / 255)


def test_adopting_our_own_model_changes_nothing_it_computes(smoke_run, data_dir, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert main([str(smoke_run / "model.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0
    ours, adopted = load(smoke_run / "model.onnx"), load(out)
    images = load_test_set(data_dir)[0]
    for before, after in zip(run_batches(ours.session, images, 500), run_batches(adopted.session, images, 500),
                             strict=True):
        np.testing.assert_array_equal(before, after)
    assert {k: v for k, v in adopted.metadata.items() if k != "adopted_from"} == ours.metadata
    adopted_from = json.loads(adopted.metadata["adopted_from"])
    assert (adopted_from["logits"]["tensor"], adopted_from["bottleneck"]["tensor"]) == ("logits", "bottleneck")
    assert adopted_from["renamed"] == {"logits": "logits_source", "bottleneck": "bottleneck_source"}
    # the range read from its metadata, so not "assumed"
    assert "  input       'image' float [N, 1, 28, 28]: layout nchw, range 0..1\n" in capsys.readouterr().out


def test_a_one_unit_bottleneck_is_adopted(data_dir, tmp_path):
    model = foreign.keras_nhwc()
    model.graph.node.append(helper.make_node("ReduceMax", ["hidden"], ["one_unit"], keepdims=1, axes=[1]))
    onnx.save(model, tmp_path / "in.onnx")
    out = tmp_path / "model.onnx"
    flags = ["--out", str(out), "--data", str(data_dir), "--bottleneck", "one_unit"]
    assert main([str(tmp_path / "in.onnx"), *flags]) == 0
    images = load_test_set(data_dir)[0][:50]
    hidden = original_tensors(model, images[:, :, :, None].astype(np.float32) / 255, ["hidden"])[0]
    _, coords = run_batches(load(out).session, images, 50)
    np.testing.assert_allclose(coords[:, 0], hidden.max(axis=1), atol=1e-5)


def test_list_tensors_marks_the_default_choices(tmp_path, capsys):
    onnx.save(foreign.keras_hw(), tmp_path / "in.onnx")
    assert main([str(tmp_path / "in.onnx"), "--list-tensors"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "flatten_input  [N, 28, 28]       input",
        "flat           [N, 784]          Reshape",
        "hidden_mm      [N, 16]           MatMul",
        "hidden_in      [N, 16]           Add",
        "hidden         [N, 16]           Relu            <- bottleneck",
        "scores_mm      [N, 10]           MatMul",
        "scores         [N, 10]           Add             <- logits",
        "softmax_out    [N, 10]           Softmax",
        "dense_1        [N, 10]           Identity",
    ]


def keras_with(change) -> onnx.ModelProto:
    model = foreign.keras_nhwc()
    change(model)
    return model


def image(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


REFUSALS = {
    "two image inputs": (keras_with(lambda m: foreign.with_inputs(m, image("a", ["N", 784]), image("b", ["N", 784]))),
                         [], "IN has 2 inputs ('a', 'b'); adopt takes a model with one image input"),
    "colour": (keras_with(lambda m: foreign.with_inputs(m, image("input_1", ["N", 32, 32, 3]))), [],
               "IN: input 'input_1' has shape [?, 32, 32, 3]; adopt takes one grey 28x28 image per row, "
               "[N, 1, 28, 28], [N, 28, 28, 1], [N, 28, 28] or [N, 784] (a colour or other-sized model cannot "
               "read Fashion-MNIST)"),
    "opset 6": (keras_with(lambda m: m.opset_import[0].__setattr__("version", 6)), [],
                "IN uses opset 6; adopt needs opset 7 or newer: convert it first with "
                "onnx.version_converter.convert_version(model, 13)"),
    "several scores": (keras_with(lambda m: m.graph.output.append(image("scores", ["N", 10]))), [],
                       "IN has 2 candidate score outputs (dense_1, scores); choose one with --logits"),
    "unknown bottleneck": (foreign.keras_nhwc(), ["--bottleneck", "hiden"],
                           "--bottleneck hiden: IN has no tensor 'hiden'; nearest: hidden, hidden_mm, hidden_in"),
    "unknown node": (foreign.keras_nhwc(), ["--bottleneck", "<dense/Matmul"],
                     "--bottleneck <dense/Matmul: IN has no node 'dense/Matmul'; nearest: dense/MatMul, "
                     "dense_1/MatMul, dense/Relu"),
    "linear": (foreign.linear(), [], "IN: its last layer, MatMul 'linear', reads the image itself: a linear "
               "classifier has no hidden layer to draw; pass --bottleneck TENSOR to choose one anyway "
               "(--list-tensors lists them)"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refusal_is_one_line_and_writes_nothing(case, data_dir, tmp_path, capsys):
    model, flags, message = REFUSALS[case]
    source = tmp_path / "in.onnx"
    onnx.save(model, source)
    out = tmp_path / "out" / "model.onnx"
    assert main([str(source), "--out", str(out), "--data", str(data_dir), *flags]) == 2
    assert capsys.readouterr().err == f"error: {message.replace('IN', str(source), 1)}\n"
    assert not out.parent.exists() or not any(out.parent.iterdir())


@pytest.mark.parametrize("theirs", ["model.onnx", "adopt_report.json"])
def test_what_adopt_did_not_write_is_never_replaced(data_dir, tmp_path, capsys, theirs):
    onnx.save(foreign.keras_hw(), tmp_path / "in.onnx")
    out = tmp_path / "out" / "model.onnx"
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir)]) == 0  # a rerun replaces
    capsys.readouterr()
    mine = out.parent / theirs
    if theirs == "model.onnx":
        onnx.save(foreign.keras_nhwc(), mine)  # someone's model, not adopted
    else:
        mine.write_text('{"my": "notes"}')
    before = mine.read_bytes()
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir)]) == 2
    expected = (f"--out {out} is a model this command did not write (it has no 'adopted_from' metadata); adopting "
                "would replace it, so it is left as it is; choose another name" if theirs == "model.onnx" else
                f"{mine} is not a report this command wrote; adopting writes its report beside --out, so it is left "
                "as it is; choose another folder for --out")
    assert capsys.readouterr().err == f"error: {expected}\n"
    assert mine.read_bytes() == before


def test_a_missing_external_data_file_is_named(data_dir, tmp_path, capsys):
    onnx.save(foreign.keras_nhwc(), tmp_path / "model.onnx", save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    (tmp_path / "weights.bin").unlink()
    assert main([str(tmp_path / "model.onnx"), "--out", str(tmp_path / "out.onnx"), "--data", str(data_dir)]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'model.onnx'} keeps its weights in 'weights.bin', which "
                                       f"is not in {tmp_path}; put that file beside the model\n")


def test_a_mismatch_is_an_error_and_nothing_is_written(data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(proof, "PROBABILITY_TOLERANCE", -1.0)  # any difference, even 0, is out of tolerance
    onnx.save(foreign.keras_hw(), tmp_path / "in.onnx")
    out = tmp_path / "model.onnx"
    assert main([str(tmp_path / "in.onnx"), "--out", str(out), "--data", str(data_dir)]) == 2
    assert capsys.readouterr().err == (
        f"error: {out} not written: the adopted model differs from {tmp_path / 'in.onnx'} on the test set: softmax "
        "probabilities differ by up to 0.00e+00 (tolerance -1)\n")
    assert sorted(tmp_path.iterdir()) == [tmp_path / "in.onnx"]


def test_adopt_runs_without_torch(data_dir, tmp_path):
    onnx.save(foreign.torch_fixed_batch(), tmp_path / "in.onnx")
    argv = [str(tmp_path / "in.onnx"), "--out", str(tmp_path / "out.onnx"), "--data", str(data_dir),
            "--input-range", "-1..1"]
    code = (NO_TORCH + f"sys.argv = ['adopt', *{argv!r}]\nimport runpy\n"
            "runpy.run_module('exporter.adopt', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.onnx").is_file() and (tmp_path / "adopt_report.json").is_file()


def test_no_module_of_adopt_imports_torch_or_another_stage():
    """Torch-free, and what it shares with the analyzer comes from fmnist_common, so that editing
    the analysis never makes make re-export."""
    for path in [REPO / "exporter" / "__init__.py", *Path(REPO, "exporter", "adopt").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                foreign = {"torch", "torchvision", "trainer", "analyzer", "site_renderer"}
                assert not any(n.split(".")[0] in foreign for n in names), (path, names)


def test_the_analyzer_lists_every_violation_and_names_adopt(data_dir, tmp_path, capsys):
    from analyzer.cli import main as analyze

    model = tmp_path / "model.onnx"
    onnx.save(foreign.torch_fixed_batch(), model)
    assert analyze(["--model", str(model), "--data", str(data_dir), "--out", str(tmp_path / "analysis")]) == 2
    assert capsys.readouterr().err == (
        f"error: {model} breaks the model interface in 4 ways: (1) has inputs [('input', 'tensor(float)')]; expected "
        "one input 'image' of type float32 and shape [N, 1, 28, 28]; (2) input 'input' has a fixed batch size of 1; "
        "expected a dynamic batch axis N (export with a dynamic first dimension); (3) lacks the output(s) "
        "['logits', 'bottleneck'] (it has ['output']); expected 'logits' [N, C] and 'bottleneck' [N, D]; (4) has no "
        "'class_names' metadata; expected metadata_props['class_names'] = a JSON list of class names in index order; "
        f"python -m exporter.adopt {model} --out adopted.onnx mends them (docs/model-interface.md)\n")


ADOPTED = {"source": "mlp.onnx", "producer": "skl2onnx 1.20.0", "sha256": "ab" * 32, "logits": {"tensor": "s"},
           "bottleneck": {"tensor": "h"}}


@pytest.mark.parametrize(("metadata", "adopted", "trained_here"), [
    ({"created_by": "fmnist-bottleneck 0.1.0"}, None, True),
    ({"created_by": "fmnist-bottleneck 0.1.0", "adopted_from": json.dumps(ADOPTED)}, ADOPTED, False),
    ({"adopted_from": json.dumps(ADOPTED)}, ADOPTED, False),
    ({}, None, False),
    ({"adopted_from": "not json"}, None, False),
    ({"adopted_from": json.dumps({**ADOPTED, "logits": "s"})}, None, False),  # not the shape adopt writes
])
def test_the_report_says_where_the_model_came_from(metadata, adopted, trained_here):
    results = {"model": {"path": "runs\\x\\my model.onnx", "metadata": metadata}}
    assert overview.origin(results) == {"adopted": adopted, "trained_here": trained_here, "file": '"my model.onnx"'}
