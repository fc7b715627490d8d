extension Page {
    static let style = """
        :root { color-scheme: light dark; --accent: #2f6fdf; --border: #8884; font-family: system-ui, sans-serif; }
        body { margin: 0; line-height: 1.4; }
        [hidden] { display: none !important; }
        header, main { max-width: 1200px; margin: 0 auto; padding: 0 1rem; }
        header h1 { margin: 1rem 0 0; }
        .muted { opacity: 0.7; font-size: 0.9rem; }
        #controls { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: 1rem 0; }
        #controls > label { display: flex; gap: 0.4rem; align-items: center; }
        #drop { flex-basis: 100%; border: 2px dashed var(--border); border-radius: 8px; padding: 1rem; text-align: center; }
        #drop.over { border-color: var(--accent); background: #2f6fdf18; }
        .button { display: inline-block; padding: 0.3rem 0.8rem; border-radius: 6px; background: var(--accent); color: white;
                  cursor: pointer; text-decoration: none; }
        .job { border: 1px solid var(--border); border-radius: 8px; padding: 0.8rem 1rem; margin: 1rem 0; }
        .job h2 { font-size: 1.1rem; margin: 0; }
        .job progress { width: 100%; }
        .job[data-state="done"] progress { display: none; }
        .job[data-state="failed"] .status { color: #d33; }
        .toolbar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 0.5rem 0; }
        .views { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
        .compare-frame { flex: 1 1 480px; max-height: 75vh; overflow: auto; border: 1px solid var(--border); }
        .compare { position: relative; }
        .compare img { display: block; width: 100%; height: auto; image-rendering: auto; }
        .compare img.before { position: absolute; top: 0; left: 0; height: 100%; }
        .compare[data-zoom]:not([data-zoom="fit"]) img { image-rendering: pixelated; }
        .compare .divider { position: absolute; top: 0; bottom: 0; width: 2px; background: white; box-shadow: 0 0 3px black; pointer-events: none; }
        .inspect { flex: 0 1 260px; margin: 0; }
        .inspect img { width: 100%; image-rendering: pixelated; border: 1px solid var(--border); }
        .inspect figcaption { font-size: 0.85rem; opacity: 0.8; }
        """
}
