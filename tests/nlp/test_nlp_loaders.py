"""The real loaders on fixture files the tests write: TSV/CSV/JSONL tables, SST-2 and TREC layouts, Multi30k gz; each
loader takes only its own keywords, and the options a config's data section gives it."""
import argparse
import csv
import gzip
import json

import pytest
import torch

from kd.common.utils.errors import ConfigError, MissingPathError, UnreadableFileError
from kd.common.utils.registry import build_checked, section_options
from kd.nlp.data import (
    CLASSIFICATION_DATASETS,
    LM_DATASETS,
    TRANSLATION_DATASETS,
    ClassificationCollator,
    LengthBucketBatchSampler,
    WordTokenizer,
)
from kd.nlp.data.local_files import read_label_first_lines, read_lines, read_table
from kd.nlp.scripts.launch import load_nlp_config

ROWS = [("a fine film", "pos"), ("dull and slow", "neg"), ("great fun , really", "pos"), ("not good", "neg")]


def write_table(path, rows, text="text", label="label"):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({text: t, label: y}) + "\n" for t, y in rows))
        return path
    if path.suffix == ".tsv":  # GLUE's TSV layout: no quoting at all
        path.write_text("".join(f"{t}\t{y}\n" for t, y in [(text, label)] + list(rows)))
        return path
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([text, label])
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".jsonl"])
def test_local_tables(tmp_path, suffix):
    train = write_table(tmp_path / f"train{suffix}", ROWS, "review", "sentiment")
    dev = write_table(tmp_path / f"dev{suffix}", ROWS[:2], "review", "sentiment")
    data = build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(train), dev_file=str(dev),
                         text_column="review", label_column="sentiment")
    assert data.label_names == ["neg", "pos"]
    assert data.train_texts[2] == "great fun , really" and data.train_labels == [1, 0, 1, 0]
    assert data.dev_labels == [1, 0]


def test_local_table_errors(tmp_path):
    train = write_table(tmp_path / "train.tsv", ROWS)
    with pytest.raises(ConfigError, match="no column 'sentence'"):
        build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(train), dev_file=str(train),
                      text_column="sentence")
    with pytest.raises(MissingPathError, match="does not exist"):
        build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(tmp_path / "nope.tsv"), dev_file=str(train))
    with pytest.raises(ConfigError, match="train_file"):
        build_checked(CLASSIFICATION_DATASETS, "local")


HEADERLESS = [("a fine film", "pos"), ("dull and slow", "neg"), ("great fun", "pos"), ("not good", "neg"),
              ("lovely", "pos")]


@pytest.mark.parametrize("suffix, rows, columns", [
    (".tsv", "".join(f"{t}\t{y}\n" for t, y in HEADERLESS), (0, 1)),  # text first, string label, no header
    (".csv", "".join(f"{y},{t}\n" for t, y in HEADERLESS), (1, 0)),  # label first
    (".csv", "review,sentiment\n" + "".join(f"{t},{y}\n" for t, y in HEADERLESS), (0, 1)),  # a header, by position
    (".jsonl", "".join(json.dumps([t, y]) + "\n" for t, y in HEADERLESS), (0, 1)),  # arrays
    (".jsonl", "".join(json.dumps({"t": t, "y": y}) + "\n" for t, y in HEADERLESS), (0, 1)),  # objects, by position
])
def test_local_tables_by_position_with_or_without_header(tmp_path, suffix, rows, columns):
    path = tmp_path / f"data{suffix}"
    path.write_text(rows)
    data = build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(path), dev_file=str(path),
                         text_column=columns[0], label_column=columns[1])
    assert data.train_texts == [t for t, _ in HEADERLESS] and data.label_names == ["neg", "pos"]
    assert data.train_labels == [1, 0, 1, 0, 1]


def test_headerless_table_read_by_name_says_how_to_give_positions(tmp_path):
    path = tmp_path / "corpus.tsv"
    path.write_text("".join(f"{t}\t{y}\n" for t, y in HEADERLESS))
    with pytest.raises(ConfigError, match=r"no column 'text': its first row is \['a fine film', 'pos'\].*"
                                          r"data.text_column=0 data.label_column=1"):
        build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(path), dev_file=str(path))
    forced = build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(path), dev_file=str(path), text_column=0,
                           label_column=1, header=False)
    assert len(forced.train_texts) == 5
    with pytest.raises(ConfigError, match="line 2 has 1 column"):
        (tmp_path / "short.tsv").write_text("a\tpos\nb\nc\tneg\n")
        build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(tmp_path / "short.tsv"), dev_file=str(path),
                      text_column=0, label_column=1)


def test_integer_labels_and_dev_subset(tmp_path):
    path = tmp_path / "ints.csv"
    path.write_text("".join(f"{t},{i % 3}\n" for i, (t, _) in enumerate(HEADERLESS * 4)))
    data = build_checked(CLASSIFICATION_DATASETS, "local", train_file=str(path), dev_file=str(path), text_column=0,
                         label_column=1)
    assert data.label_names == ["0", "1", "2"] and data.train_labels[:4] == [0, 1, 2, 0]
    small = data.subset_dev(7, seed=1)
    assert len(small.dev_texts) == 7 and small.train_texts == data.train_texts
    assert set(zip(small.dev_texts, small.dev_labels)) <= set(zip(data.dev_texts, data.dev_labels))
    assert small.dev_texts == data.subset_dev(7, seed=1).dev_texts


def test_sst2_folder_layout_and_subset(tmp_path):
    write_table(tmp_path / "train.tsv", [("it 's a \"quoted\" gem", "1"), ("bad", "0"), ("ok", "1")], "sentence")
    write_table(tmp_path / "validation.tsv", [("lovely", "1")], "sentence")
    data = build_checked(CLASSIFICATION_DATASETS, "sst2", path=str(tmp_path))
    assert data.label_names == ["0", "1"] and data.train_labels == [1, 0, 1]
    assert data.train_texts[0] == 'it \'s a "quoted" gem'
    small = data.subset_train(2, seed=0)
    assert len(small.train_texts) == 2 and set(small.train_texts) <= set(data.train_texts)


def test_trec_lines(tmp_path):
    (tmp_path / "train.txt").write_text("0 How did it start ?\n3 Who wrote Hamlet ?\n5 How many legs ?\n")
    (tmp_path / "test.txt").write_text("3 Who is he ?\n")
    data = build_checked(CLASSIFICATION_DATASETS, "trec", path=str(tmp_path))
    assert data.train_texts[1] == "Who wrote Hamlet ?"
    assert data.num_labels == 6 and data.train_labels == [0, 3, 5] and data.dev_labels == [3]


def write_multi30k(folder, n=6):
    for split in ("train", "val", "test_2016_flickr"):
        for lang, words in (("de", "ein hund läuft"), ("en", "a dog runs")):
            with gzip.open(folder / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("".join(f"{words} {i} .\n" for i in range(n)))
    return folder


def test_multi30k_gz_and_lm_sentences(tmp_path):
    write_multi30k(tmp_path)
    splits = build_checked(TRANSLATION_DATASETS, "multi30k", path=str(tmp_path))
    assert set(splits) == {"train", "validation", "test"}
    assert splits["train"][1] == ("ein hund läuft 1 .", "a dog runs 1 .")
    lm = build_checked(LM_DATASETS, "multi30k_en", path=str(tmp_path))
    assert lm["validation"][0] == "a dog runs 0 ."
    (tmp_path / "val.en.gz").unlink()
    with pytest.raises(MissingPathError, match="val.en.gz"):
        build_checked(TRANSLATION_DATASETS, "multi30k", path=str(tmp_path))


def test_word_tokenizer_round_trip():
    tok = WordTokenizer.build(["A dog runs.", "a cat runs !"], min_freq=1)
    ids = tok.encode("a dog sleeps.", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id and tok.unk_token_id in ids
    assert tok.decode(ids) == "a dog <unk> ."
    assert WordTokenizer(tok.state()).index == tok.index


def test_collator_pads_per_batch_and_per_tokenizer():
    t1 = WordTokenizer.build(["one two three four five six"], min_freq=1)
    t2 = WordTokenizer.build(["one two"], min_freq=1)
    collate = ClassificationCollator({"teacher": t1, "student": t2}, max_length=4)
    batch = collate([{"text": "one two three four five six", "label": 1}, {"text": "one", "label": 0}])
    assert batch["inputs"]["teacher"]["input_ids"].shape == (2, 4)  # truncated to max_length
    assert batch["inputs"]["teacher"]["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 0, 0, 0]]
    assert batch["inputs"]["student"]["input_ids"][0].tolist() == [4, 5, 1, 1]  # own vocabulary: unknown words
    assert batch["labels"].tolist() == [1, 0]
    short = collate([{"text": "one two", "label": 0}, {"text": "one", "label": 0}])
    assert short["inputs"]["teacher"]["input_ids"].shape == (2, 2)  # padded to this batch's longest only


def test_length_bucketing_covers_everything_once_and_groups_lengths():
    lengths = torch.randint(1, 50, (200,)).tolist()
    sampler = LengthBucketBatchSampler(lengths, batch_size=10, seed=1, pool_batches=20)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 20
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) < 15
    assert list(sampler) == batches  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != batches


@pytest.mark.parametrize("registry, name, key, message", [
    (CLASSIFICATION_DATASETS, "sst2", "pth", "text-classification data set 'sst2' takes no argument 'pth'; did you "
                                             "mean 'path'?"),
    (CLASSIFICATION_DATASETS, "local", "text_colum", "did you mean 'text_column'?"),
    (TRANSLATION_DATASETS, "multi30k", "train_file", "translation data set 'multi30k' takes no argument 'train_file'"),
    (LM_DATASETS, "wikitext103", "path", "language-modelling data set 'wikitext103' takes no argument 'path'"),
])
def test_a_loader_refuses_a_keyword_it_does_not_take(registry, name, key, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        build_checked(registry, name, **{key: "x"})


def classification_options(data):
    return section_options(CLASSIFICATION_DATASETS, data, "data")


def preset_data(preset):
    """The ``data`` section of ``preset`` as a run resolves it (its task's defaults < the preset)."""
    return load_nlp_config(argparse.Namespace(config=preset, overrides=[], seed=None, resume=None))["data"]


def lm_options(data):
    return section_options(LM_DATASETS, data, "data")


@pytest.mark.parametrize("preset, registry", [("sst2", CLASSIFICATION_DATASETS), ("trec", CLASSIFICATION_DATASETS),
                                              ("multi30k", TRANSLATION_DATASETS), ("lm", LM_DATASETS)])
def test_every_preset_gives_its_loader_only_the_keys_it_takes(preset, registry):
    """A config lists every data set's keys at their defaults: none is refused, and only the loader's go to it."""
    data = preset_data(preset)
    assert section_options(registry, data, "data") == {"path": None}
    for name in registry.names():  # switching data.name alone is never refused
        section_options(registry, {**data, "name": name}, "data")


def test_a_key_only_other_data_sets_read_is_refused_when_set():
    data = preset_data("sst2")
    with pytest.raises(ConfigError) as error:
        classification_options({**data, "text_column": "sentence"})
    assert str(error.value) == ("data.text_column='sentence' is not read by data.name=sst2 (it takes data.path); drop "
                                "it, or use data.name=local, which reads it")
    assert classification_options({**data, "text_column": "text"}) == {"path": None}  # its default: not the user's
    local = {**data, "name": "local", "train_file": "a.tsv", "dev_file": "b.tsv", "label_column": 1}
    assert classification_options(local) == {"train_file": "a.tsv", "dev_file": "b.tsv", "text_column": "text",
                                             "label_column": 1, "header": "auto"}
    with pytest.raises(ConfigError, match=r"^data.path='/data/sst2' is not read by data.name=local \(it takes "
                                          r"data.train_file, .*, data.header\); drop it, or use data.name=ag_news, "
                                          r"sst2 or trec, which read it$"):
        classification_options({**local, "path": "/data/sst2"})
    lm = preset_data("lm")
    with pytest.raises(ConfigError, match="data.train_file='t.txt' is not read by data.name=multi30k_en"):
        lm_options({**lm, "train_file": "t.txt"})
    with pytest.raises(ConfigError, match="not read by data.name=wikitext103 \\(it takes none of the section's keys"):
        lm_options({**lm, "name": "wikitext103", "path": "/data/multi30k"})


def test_a_byte_order_mark_is_dropped_from_tables_and_trec_lines(tmp_path):
    """Excel's "CSV UTF-8" and Notepad start a file with a UTF-8 BOM: the header still names its columns, and TREC's
    first label is not a class of its own."""
    table, trec = tmp_path / "train.tsv", tmp_path / "train.txt"
    table.write_bytes(b"\xef\xbb\xbfsentence\tlabel\r\ngood film\t1\r\nbad film\t0\r\n")
    trec.write_bytes(b"\xef\xbb\xbf5 How far is it ?\n3 Who is he ?\n")
    assert read_table(table) == (["good film", "bad film"], ["1", "0"])
    assert read_label_first_lines(trec) == (["How far is it ?", "Who is he ?"], ["5", "3"])


def test_text_that_is_not_utf8_or_a_broken_gzip_file_is_one_line(tmp_path):
    latin1, not_gzip, cut = tmp_path / "train.tsv", tmp_path / "train.de.gz", tmp_path / "valid.de.gz"
    latin1.write_bytes("sentence\tlabel\ncafé\t1\n".encode("latin-1"))
    not_gzip.write_bytes(b"<html>not found</html>")
    cut.write_bytes(gzip.compress("ein Satz\n".encode() * 100)[:30])
    with pytest.raises(UnreadableFileError, match=rf"^'{latin1}' is not UTF-8 text \(it holds the bytes b'\\xe9'\); "
                                                  r"save it as UTF-8$"):
        read_table(latin1)
    for path in (not_gzip, cut):
        with pytest.raises(UnreadableFileError, match=rf"^'{path}' is not a complete gzip file \(.+\); download or "
                                                      r"compress it again$"):
            read_lines(path)


def test_a_translation_data_set_with_an_empty_split_is_refused(tmp_path):
    """Empty train.{de,en} files trained nothing and saved a model all the same."""
    from kd.nlp.tasks.translation import load_pairs

    for split in ("train", "val", "test_2016_flickr"):
        for lang, line in (("de", "ein Hund\n"), ("en", "a dog\n")):
            (tmp_path / f"{split}.{lang}").write_text("" if split == "train" else line)
    with pytest.raises(ConfigError, match=r"^data set 'multi30k' holds no sentence pairs in its train split; check "
                                          r"the files under data.path \(or data.train_file\)$"):
        load_pairs({"data": {"name": "multi30k", "path": str(tmp_path), "tokenizer": "word"}})


def test_a_row_with_more_cells_than_its_header_is_one_line(tmp_path):
    """A tab inside an SST-2 sentence (a TSV keeps quotes literal) made the sentence's tail the label, a new class."""
    table = tmp_path / "train.tsv"
    table.write_text('sentence\tlabel\n"a sentence with\ta tab" inside\t1\ngood\t0\n')
    with pytest.raises(ConfigError, match=r"line 2 has 3 columns where its header has 2: .+; a tab \(.tsv\) or an "
                                          r"unquoted comma \(.csv\) inside a text splits it$"):
        read_table(table)


def test_labels_outside_a_known_data_set_or_mixed_with_integers_are_one_line(tmp_path):
    """A stray `2` made SST-2 a 3-class task; one `x` among integer labels re-sorted all of them as names."""
    from kd.nlp.data.classification import encode_labels

    with pytest.raises(ConfigError, match=r"^'train.tsv' holds the labels '2'; this data set's are the integers "
                                          r"0 \.\. 1$"):
        encode_labels(["0", "1", "2"], ["0"], classes=2, source="'train.tsv'")
    with pytest.raises(ConfigError, match=r"^the training set mixes integer labels with others \('x'\); give every "
                                          r"example an integer label or every one a name$"):
        encode_labels(["0", "10", "2", "x"], ["0"])
    assert encode_labels(["1", "1"], ["0"], classes=2) == ([1, 1], [0], ["0", "1"])
    assert encode_labels(["neg", "pos"], ["pos"]) == ([0, 1], [1], ["neg", "pos"])
