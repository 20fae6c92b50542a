"""The app's own text in English (see ui/i18n.py). ``UI``: what the layout shows (translated in the
browser); ``MESSAGES``: what handlers return or raise (translated on the server)."""

UI = {
    # Embeddings: sampling (the holes lesson)
    "sample_help": (
        "### Sample\nDecode 16 random codes. A VAE draws them from N(0, I), the distribution it was trained "
        "to fill; a plain autoencoder from a Gaussian fitted to its own test codes (the fair comparison). "
        "Compare the number under each set: a plain autoencoder's latent space has holes between its "
        "codes, and samples that fall there look less like real images."
    ),
    "sample_button": "Sample 16",
    "sample_seed": "Seed",
    # header
    "title": "fmae: Fashion-MNIST autoencoder studio",
    "intro": (
        "# fmae: Fashion-MNIST autoencoder studio\n"
        "Draw or upload a piece of clothing (or a digit) and see how an autoencoder squeezes it through "
        "a small latent code; train your own model; compare with PCA."
    ),
    "model": "Model",
    "model_info": "Model info",
    "copy_link": "Copy link",
    "link_box": "Link to this page: model, tab and Train settings",
    "tab_train": "Train",
    "tab_reconstruct": "Reconstruct",
    "tab_embeddings": "Embeddings",
    "tab_hub": "Hub",
    # Reconstruct tab
    "rec_help": (
        "Draw on the white canvas with the mouse or a finger, like the model's dataset: a piece of clothing "
        "for the Fashion-MNIST models, a digit for MNIST. The reconstruction updates as you draw; the "
        "canvas toolbar has undo and clear."
    ),
    "rec_prompt": "**Draw something** on the canvas, or upload an image, or click an example below.",
    "draw_here": "Draw here",
    "upload": "…or upload an image",
    "rec_figure": "Model input, reconstruction, error, PCA and latent code",
    "summary": "Summary",
    "numbers_json": "Numbers (JSON)",
    "numbers": "Numbers",
    "examples": "Examples (test images): click one",
    # Reconstruct: noise and second model
    "noise_level": "Add noise to the input (0 = off)",
    "noise_level_info": (
        "Gaussian: the noise's standard deviation (pixels 0-1); mask: the share of pixels set to 0"
    ),
    "noise_kind": "Noise",
    "noise_gaussian": "Gaussian",
    "noise_mask": "Mask (pixels to 0)",
    "second_model": "Compare with a second model",
    "second_model_info": "The same input through both; errors side by side",
    # Train tab
    "train_help": (
        "Train an autoencoder on this server. One run at a time: if another visitor is training, you wait "
        "in the queue. At most {epochs} epochs and {minutes} minutes per run."
    ),
    "dataset": "Dataset",
    "fashion": "Fashion-MNIST (clothing)",
    "mnist": "MNIST (digits)",
    "architecture": "Architecture",
    "mlp": "MLP",
    "conv": "Convolutional",
    "mlp-vae": "MLP VAE (variational)",
    "conv-vae": "Convolutional VAE (variational)",
    "beta": "β: the KL term's weight (VAEs; 1 = the ELBO, larger = a beta-VAE)",
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "lr": "Learning rate (Adam)",
    "latent_size": "Latent size",
    "hidden_size": "Hidden size",
    "seed": "Seed",
    "train_size": "Training images",
    "start": "Start",
    "stop": "Stop",
    "train_ready": "Set the options and press **Start**.",
    "status": "Status",
    "log": "Log",
    "loss": "Loss",
    "loss_axis": "BCE per pixel",
    "train_grid": "Test images (top) and reconstructions (bottom), live",
    # Train tab: live latent map, replay, pause/step
    "latent_map": "Latent map: 1,000 test images, live",
    "replay": "Replay: frame",
    "watch_none": "The map shows where test images land in the latent space, live while a run trains.",
    "pause": "Pause",
    "step_size": "Steps per Step",
    "step_button": "Step",
    "resume": "Resume",
    "gif": "Download as GIF",
    "gif_file": "Latent map animation (GIF)",
    "save": "Save as checkpoint",
    "download": "Download checkpoint (zip)",
    # Embeddings tab
    "embed_help": (
        "Each test image becomes a point: its latent code squeezed to 2-D by each method. Hover a point to "
        "see the image, its class and its test-image number. Titles give the fit time; below them, the "
        "trustworthiness of the map (k=10) and kNN(5) accuracy on the map next to kNN accuracy in the full "
        "latent space. Your latest drawing or upload from the **Reconstruct** tab is the gold star. Shipped "
        "models show precomputed maps for {n} points at once; other settings need the test set and "
        "take seconds (t-SNE the longest)."
    ),
    "methods": "Methods",
    "points": "Number of test points",
    "compute": "Compute",
    "embed_open": "Open this tab to see the maps.",
    "nearest": "Your drawing's {n} nearest test images (in latent space)",
    "maps": "Maps",
    "walk_help": (
        "### Walk through the latent space\nInterpolate between two test images (hover a point to see "
        "its number; -1 is your drawing), or move along the main directions of the model's codes."
    ),
    "point_a": "A: test image # (-1: your drawing)",
    "point_b": "B: test image #",
    "steps": "Steps",
    "interpolate": "Interpolate A → B",
    "strip": "A, decoded steps, B",
    "direction": "Direction {i} (standard deviations)",
    "decoded": "Decoded",
    # Embeddings: latent pad
    "pad_help": (
        "### Latent pad\nPress and drag on the plane (mouse or finger): the image decoded at the point "
        "under the pointer appears beside it and follows as you move. The coloured dots are test images "
        "by class, the gold star your latest input; the checkbox shows a grid of decoded images behind "
        "them. The decoder runs in your browser."
    ),
    # Hub tab (labels only; its messages are the Hub tab's own)
    "hub_help": (
        "Push the model picked above to a model repo of yours on the "
        "[Hugging Face Hub](https://huggingface.co), or pull any fmae checkpoint: only safetensors weights "
        "and their config are downloaded, checked before use (pickle files are refused). A pulled model "
        "joins your session and becomes the current one."
    ),
    "hub_signin_help": (
        "Signed in, you push to your own account (USERNAME/fmae-MODEL) without pasting a token."
    ),
    "hub_duplicate": "Duplicate this Space",
    "hub_duplicate_help": (
        "This Space trains one model at a time for all its visitors. A class (or anyone who wants to train "
        "without waiting) can duplicate it: each copy has its own training slot, hardware and secrets."
    ),
    "hub_token": "Hugging Face token",
    "hub_token_placeholder": "hf_… (empty: the server's HF_TOKEN, where allowed)",
    "hub_token_placeholder_signin": "hf_… (empty: your sign-in, else the server's HF_TOKEN, where allowed)",
    "hub_token_info": "Used for this request only; never stored or shown. Pushing needs write access.",
    "hub_token_info_signin": (
        "Used for this request only; never stored or shown. Pushing needs write access. "
        "Signed in with Hugging Face? Leave it empty."
    ),
    "hub_repo_hint_signin": "username/fmae-mlp (empty and signed in: USERNAME/fmae-MODEL)",
    "hub_push_title": "### Push the picked model",
    "hub_repo": "Repo id",
    "hub_private": "Private repo",
    "hub_message": "Commit message",
    "hub_push": "Push",
    "hub_pull_title": "### Pull a model",
    "hub_revision": "Revision",
    "hub_revision_placeholder": "main (or a branch or commit id)",
    "hub_pull": "Pull",
}

MESSAGES = {
    # Embeddings: sampling
    "sample_vae": (
        "**{n} samples from N(0, I)** (seed {seed}): mean MSE to the nearest test image **{mse:.4f}** "
        "(lower: more like real images)."
    ),
    "sample_ae": (
        "**{n} samples from a Gaussian fitted to the test codes** (seed {seed}): mean MSE to the nearest "
        "test image **{mse:.4f}** (lower: more like real images). Try a VAE of the same size."
    ),
    "sample_bad_seed": "The seed must be an integer from 0 to {high}.",
    "pause_when_started": "The run is starting: it will hold after its first step.",
    # header and links
    "choice": "{name} ({source})",
    "source_shipped": "shipped",
    "source_trained": "trained",
    "source_pulled": "pulled",
    "no_model": "No model yet.",
    "model_info": "**{name}**: {kind} autoencoder ({sizes}) for {dataset}{mse}.",
    "model_mse": "; test MSE {mse:.4f}",
    "size_latent": "latent {v}",
    "size_hidden": "hidden {v}",
    "size_channels": "channels {v}",
    "ds_fashion": "Fashion-MNIST",
    "ds_mnist": "MNIST digits",
    "link_session_model": (
        "The link's model `{name}` is not on this server: a model trained or pulled on the page exists only "
        "in that visitor's session. Showing the shipped `{fallback}` instead."
    ),
    "link_train_hint": " The Train tab has the link's settings: press **Start** to train one like it.",
    "link_ignored": "Ignored from the link: {items}.",
    "link_bad_value": "{name}={value} ({why})",
    "link_copied": "Link copied: it opens this page with the same model, tab and Train settings.",
    "link_own_model": (
        "The link names `{name}`, which exists only in your session: whoever opens it gets the shipped "
        "`{fallback}` and your Train settings instead."
    ),
    "why_choice": "one of {choices}",
    "why_range": "{low} to {high}",
    "why_step": "a multiple of {step} from {low} to {high}",
    "why_lr": "a number above 0, at most 0.1",
    "why_beta": "a number from 0.001 to 100",
    # Reconstruct tab
    "prompt": "**Draw something** on the canvas, or upload an image, or click an example below.",
    "rec_mse": "**Reconstruction MSE {mse:.4f}** (mean over the 784 pixels; model `{name}`).",
    "rec_percentile": "That is a larger error than {p:.1f}% of the {dataset} test images get.",
    "rec_pca_better": "PCA with the same {k} components: MSE {mse:.4f} (the autoencoder does better).",
    "rec_pca_worse": "PCA with the same {k} components: MSE {mse:.4f} (the autoencoder does worse).",
    "rec_latent": "Latent code ({n} numbers): [{code}]",
    "no_example": "No such example.",
    # Reconstruct: noise and second model
    "second_none": "none",
    "rec_noise": (
        "**Noise: {what}**, with a fixed seed (the same drawing always gets the same noise). The noisy image "
        "is the model input; every error below compares the reconstruction with your **clean** input, "
        "which is how a denoising autoencoder is judged."
    ),
    "rec_noise_gaussian": "Gaussian, σ = {level:.2f}",
    "rec_noise_mask": "mask, each pixel set to 0 with probability {level:.2f}",
    "rec_compare": "**A `{a}`: MSE {mse_a:.4f} · B `{b}`: MSE {mse_b:.4f}**. {verdict}",
    "rec_compare_a": "A's reconstruction is closer to the input.",
    "rec_compare_b": "B's reconstruction is closer to the input.",
    "rec_compare_tie": "Both are equally close to the input.",
    "rec_other_dataset": (
        "B (`{name}`) was trained on {dataset}: it gets the input as prepared for A's dataset."
    ),
    # Train tab
    "loading": "Loading the dataset…",
    "cannot_train": "**Cannot train:** {why}",
    "measuring_untrained": "Measuring the untrained model…",
    "training_step": "Training: epoch {epoch}/{epochs}, step {step}/{steps}, {rate:.0f} images/s",
    "epoch_done": "Epoch {epoch}/{epochs} done: test BCE {bce:.4f}, MSE {mse:.4f}",
    "no_first_step": "Stopped before the first step: no model.",
    "measuring_test": "Measuring test-set errors and the PCA baseline…",
    "no_model_kept": "**No model kept:** {why}",
    "why_done": "done",
    "why_stopped": "stopped",
    "why_time": "time limit reached",
    "kept": "Model **`{name}`** is now your current model (see the Reconstruct tab); test MSE {mse:.4f}.",
    "trained": "**Training {why}.** {kept} Save it with the button below.",
    "collapsed_head": "Training {why}, but the model has collapsed",
    "stopping": "Stopping…",
    "nothing_training": "Nothing is training in this session.",
    "not_started": "Stopped before it started.",
    # Train tab: live latent map, replay, pause/step
    "watch_info": "Frame {i} of {n} · step {step} · epoch {epoch:.2f}",
    "watch_loss": " · loss {loss:.4f}",
    "watch_paused": " · **paused**",
    "paused_at": (
        "**Paused** after step {step} (epoch {epoch:.2f}). **Step** takes more steps, **Resume** goes on, "
        "**Stop** ends the run and keeps the model. Left paused for {minutes:.0f} min (the session's idle "
        "time), the run stops by itself and keeps its model."
    ),
    "why_idle": "stopped: paused too long",
    "no_frames": "No frames yet: start a run first.",
    "saved": "Saved **`{name}`** as a checkpoint folder: download it with the button.",
    "limit": "{name} must be between {low} and {high} on this server (got {value})",
    "limit_lr": "learning rate must be in (0, 0.1] (got {value})",
    "epochs": "epochs",
    "train_size": "train subset size",
    "batch_size": "batch size",
    "hidden_size": "hidden size",
    "latent_size": "latent size",
    # Embeddings tab
    "embed_head": "**{name}**, {n} test points, seed {seed}: {maps}; {seconds:.2f} s.",
    "embed_failed": "**{label} failed**: {why}",
    "embed_absent": "Not computed yet: {labels}. Press **Compute**.",
    "embed_strip": (
        "This model's codes vary along one direction only (e.g. latent size 1), so there is nothing for a "
        "2-D method to arrange: each map is a strip, x the code along that direction, y a small random "
        "jitter."
    ),
    "embed_star": "Your drawing is the gold star; its nearest test images are below.",
    "embed_no_star": "Draw or upload something in the **Reconstruct** tab to see it on the maps.",
    "src_shipped": "shipped file",
    "src_cached": "cache",
    "src_computed": "computed",
    # Embeddings: latent pad
    "pad_latent": "{name} has a 2-D latent space: this plane is the latent space itself, code = (x, y).",
    "pad_latent_1d": "{name} has a 1-D latent space: x is the code; y does nothing.",
    "pad_pca": (
        "{name} has a {dim}-D latent space: this plane is the plane of the first two principal components "
        "of {n} test codes, code = mean + x · pc1 + y · pc2 (x, y in latent units)."
    ),
    "pad_grid": "Show decoded images behind the points",
    "pad_drawing": "your input",
    "pad_server": "This model's decoder cannot run in the page: the server decodes (slower).",
    # errors
    "err_disk_full": "The server's disk is full, so nothing can be saved now; please try again later.",
    "err_file": "A file operation failed on the server ({why}).",
    "err_unexpected": "Unexpected error: {kind}",
    "err_generic": "{message}",
    "err_image": "{message}",
    "err_data": "{message}",
    "err_checkpoint": "{message}",
    "err_hub": "{message}",
    "err_unknown_model": "Unknown model '{name}'; available: {known}.",
    "err_no_model": "No model is available: train one in the Train tab.",
}
