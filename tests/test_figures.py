"""lstm_hist.figures: the one save path every figure takes."""

from lstm_hist import figures


def test_save_makes_the_folder_writes_a_png_and_closes_the_figure(tmp_path):
    plt = figures.pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = figures.save(fig, tmp_path / "new" / "deeper" / "line.png", dpi=50)
    assert path == tmp_path / "new" / "deeper" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an open figure would stay alive for the whole report (one per paper)
    assert fig.number not in plt.get_fignums()


def test_pyplot_is_on_the_file_only_backend():
    import matplotlib

    assert figures.pyplot() is not None
    assert matplotlib.get_backend().lower() == "agg"
