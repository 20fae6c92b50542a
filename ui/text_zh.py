"""The app's own text in Simplified Chinese (same keys as ui/text_en.py; see ui/i18n.py).

Dataset, model and method names (Fashion-MNIST, MNIST, PCA, t-SNE, MLP) and the training log's
lines (the tutorial's own format) stay as they are."""

UI = {
    # Embeddings: sampling (the holes lesson)
    "sample_help": (
        "### 采样\n解码 16 个随机编码。VAE 从 N(0, I) 中抽取（它训练时要填满的分布）；普通自编码器从拟合其"
        "测试编码的高斯分布中抽取（公平的比较）。比较每组下面的数字：普通自编码器的潜在空间在编码之间有"
        "“空洞”，落在那里的样本不太像真实图像。"
    ),
    "sample_button": "采样 16 个",
    "sample_seed": "随机种子",
    # header
    "title": "fmae：Fashion-MNIST 自编码器工作室",
    "intro": (
        "# fmae：Fashion-MNIST 自编码器工作室\n"
        "画一件衣服（或一个数字），或者上传一张图片，看看自编码器如何把它压缩成一个很小的潜在编码；"
        "训练你自己的模型；并与 PCA 比较。"
    ),
    "model": "模型",
    "model_info": "模型信息",
    "copy_link": "复制链接",
    "link_box": "本页链接：模型、标签页和训练设置",
    "tab_train": "训练",
    "tab_reconstruct": "重建",
    "tab_embeddings": "嵌入",
    "tab_hub": "Hub",
    # Reconstruct tab
    "rec_help": (
        "用鼠标或手指在白色画布上作画，画的内容要像模型的数据集：Fashion-MNIST 模型画一件衣物，"
        "MNIST 模型画一个数字。重建结果会随着你的绘画实时更新；画布工具栏里有撤销和清除。"
    ),
    "rec_prompt": "在画布上**画点什么**，或者上传一张图片，或者点击下面的示例。",
    "draw_here": "在这里画",
    "upload": "……或上传一张图片",
    "rec_figure": "模型输入、重建结果、误差、PCA 与潜在编码",
    "summary": "摘要",
    "numbers_json": "数值（JSON）",
    "numbers": "数值",
    "examples": "示例（测试集图片）：点击任意一张",
    # Reconstruct: noise and second model
    "noise_level": "给输入加噪声（0 = 不加）",
    "noise_level_info": "高斯：噪声的标准差（像素取值 0-1）；遮挡：被置为 0 的像素比例",
    "noise_kind": "噪声",
    "noise_gaussian": "高斯",
    "noise_mask": "遮挡（像素置 0）",
    "second_model": "与第二个模型对比",
    "second_model_info": "同一个输入经过两个模型，误差并排显示",
    # Train tab
    "train_help": (
        "在这台服务器上训练一个自编码器。同一时间只运行一个训练：如果其他访客正在训练，你需要排队等待。"
        "每次训练最多 {epochs} 轮、{minutes} 分钟。"
    ),
    "dataset": "数据集",
    "fashion": "Fashion-MNIST（服饰）",
    "mnist": "MNIST（手写数字）",
    "architecture": "网络结构",
    "mlp": "MLP（全连接）",
    "conv": "卷积网络",
    "mlp-vae": "MLP 变分自编码器（VAE）",
    "conv-vae": "卷积变分自编码器（VAE）",
    "beta": "β：KL 项的权重（VAE；1 即 ELBO，更大即 beta-VAE）",
    "epochs": "训练轮数",
    "batch_size": "批大小",
    "lr": "学习率（Adam）",
    "latent_size": "潜在维度",
    "hidden_size": "隐藏层大小",
    "seed": "随机种子",
    "train_size": "训练图片数",
    "start": "开始",
    "stop": "停止",
    "train_ready": "设置好选项后按 **开始**。",
    "status": "状态",
    "log": "日志",
    "loss": "损失",
    "loss_axis": "每像素 BCE",
    "train_grid": "测试图片（上）与重建结果（下），实时更新",
    # Train tab: live latent map, replay, pause/step
    "latent_map": "潜在空间图：1,000 张测试图片，实时",
    "replay": "回放：帧",
    "watch_none": "这张图显示测试图片在潜在空间中的位置，训练时实时更新。",
    "pause": "暂停",
    "step_size": "每次单步的步数",
    "step_button": "单步",
    "resume": "继续",
    "gif": "下载为 GIF",
    "gif_file": "潜在空间图动画（GIF）",
    "save": "保存为检查点",
    "download": "下载检查点（zip）",
    # Embeddings tab
    "embed_help": (
        "每张测试图片是一个点：它的潜在编码被各个方法压缩到二维。把鼠标移到点上可以看到图片、类别和测试集编号。"
        "标题给出拟合用时；标题下方是这张图的可信度（k=10），以及图上的 kNN(5) 准确率和完整潜在空间中的 "
        "kNN 准确率。你在**重建**标签页最近一次画的或上传的图片显示为金色星星。"
        "内置模型会立刻显示预先计算好的 {n} 个点的图；其他设置需要测试集，要花几秒钟（t-SNE 最慢）。"
    ),
    "methods": "方法",
    "points": "测试点数量",
    "compute": "计算",
    "embed_open": "打开这个标签页即可看到这些图。",
    "nearest": "与你的画最接近的 {n} 张测试图片（在潜在空间中）",
    "maps": "图",
    "walk_help": (
        "### 在潜在空间中漫步\n在两张测试图片之间插值（把鼠标移到点上可看到编号；-1 表示你的画），"
        "或者沿模型编码的几个主方向移动。"
    ),
    "point_a": "A：测试图片编号（-1：你的画）",
    "point_b": "B：测试图片编号",
    "steps": "步数",
    "interpolate": "从 A 插值到 B",
    "strip": "A、解码出的中间步骤、B",
    "direction": "方向 {i}（以标准差计）",
    "decoded": "解码结果",
    # Embeddings: latent pad
    "pad_help": (
        "### 潜在平面\n在平面上按下并拖动（鼠标或手指）："
        "指针下那一点解码出的图像显示在旁边，并随移动实时更新。"
        "彩色圆点是按类别着色的测试图像，金色星星是你最近的输入；勾选框可在背后显示解码图像的网格。"
        "解码器在你的浏览器中运行。"
    ),
    # Hub tab
    "hub_help": (
        "把上面选中的模型推送到你在 [Hugging Face Hub](https://huggingface.co) 上的模型仓库，"
        "或者拉取任意 fmae 检查点：只下载 safetensors 权重和配置，使用前会先检查（pickle 文件一律拒绝）。"
        "拉取的模型会加入你的会话并成为当前模型。"
    ),
    "hub_signin_help": "登录后，不用粘贴令牌就能推送到你自己的账号（USERNAME/fmae-MODEL）。",
    "hub_duplicate": "复制这个 Space",
    "hub_duplicate_help": (
        "这个 Space 同一时间只为所有访客训练一个模型。一个班级（或任何不想排队的人）可以复制它："
        "每个副本都有自己的训练名额、硬件和密钥。"
    ),
    "hub_token": "Hugging Face 令牌",
    "hub_token_placeholder": "hf_…（留空：在允许的情况下使用服务器的 HF_TOKEN）",
    "hub_token_placeholder_signin": "hf_…（留空：使用你的登录，否则在允许的情况下使用服务器的 HF_TOKEN）",
    "hub_token_info": "只用于这一次请求，绝不保存或显示。推送需要写权限。",
    "hub_token_info_signin": (
        "只用于这一次请求，绝不保存或显示。推送需要写权限。已用 Hugging Face 登录？留空即可。"
    ),
    "hub_repo_hint_signin": "username/fmae-mlp（登录后留空：USERNAME/fmae-MODEL）",
    "hub_push_title": "### 推送选中的模型",
    "hub_repo": "仓库 ID",
    "hub_private": "私有仓库",
    "hub_message": "提交说明",
    "hub_push": "推送",
    "hub_pull_title": "### 拉取模型",
    "hub_revision": "版本",
    "hub_revision_placeholder": "main（或分支名、提交 ID）",
    "hub_pull": "拉取",
}

MESSAGES = {
    # Embeddings: sampling
    "sample_vae": (
        "**从 N(0, I) 采样 {n} 个**（种子 {seed}）：到最近测试图像的平均 MSE **{mse:.4f}**"
        "（越低越像真实图像）。"
    ),
    "sample_ae": (
        "**从拟合测试编码的高斯分布采样 {n} 个**（种子 {seed}）：到最近测试图像的平均 MSE **{mse:.4f}**"
        "（越低越像真实图像）。试试同样大小的 VAE。"
    ),
    "sample_bad_seed": "种子必须是 0 到 {high} 之间的整数。",
    "pause_when_started": "训练正在启动：它会在第一步之后暂停。",
    # header and links
    "choice": "{name}（{source}）",
    "source_shipped": "内置",
    "source_trained": "本会话训练",
    "source_pulled": "从 Hub 拉取",
    "no_model": "还没有模型。",
    "model_info": "**{name}**：用于 {dataset} 的 {kind} 自编码器（{sizes}）{mse}。",
    "model_mse": "；测试集 MSE {mse:.4f}",
    "size_latent": "潜在 {v}",
    "size_hidden": "隐藏 {v}",
    "size_channels": "通道 {v}",
    "ds_fashion": "Fashion-MNIST",
    "ds_mnist": "MNIST 手写数字",
    "link_session_model": (
        "链接里的模型 `{name}` 不在这台服务器上：在网页上训练或拉取的模型只存在于那位访客的会话中。"
        "现在显示内置模型 `{fallback}`。"
    ),
    "link_train_hint": "训练标签页已填好链接中的设置：按 **开始** 就能训练一个同样的模型。",
    "link_ignored": "链接中这些设置无效，已忽略：{items}。",
    "link_bad_value": "{name}={value}（应为{why}）",
    "link_copied": "链接已复制：打开它会显示同样的模型、标签页和训练设置。",
    "link_own_model": (
        "链接里的 `{name}` 只存在于你的会话中：别人打开时会看到内置模型 `{fallback}`，以及你的训练设置。"
    ),
    "why_choice": " {choices} 之一",
    "why_range": " {low} 到 {high}",
    "why_step": " {low} 到 {high} 之间 {step} 的倍数",
    "why_lr": "大于 0、不超过 0.1 的数",
    "why_beta": "0.001 到 100 之间的数",
    # Reconstruct tab
    "prompt": "在画布上**画点什么**，或者上传一张图片，或者点击下面的示例。",
    "rec_mse": "**重建 MSE {mse:.4f}**（784 个像素的平均值；模型 `{name}`）。",
    "rec_percentile": "这个误差比 {p:.1f}% 的 {dataset} 测试图片的误差都大。",
    "rec_pca_better": "用同样 {k} 个成分的 PCA：MSE {mse:.4f}（自编码器更好）。",
    "rec_pca_worse": "用同样 {k} 个成分的 PCA：MSE {mse:.4f}（自编码器更差）。",
    "rec_latent": "潜在编码（{n} 个数）：[{code}]",
    "no_example": "没有这个示例。",
    # Reconstruct: noise and second model
    "second_none": "不对比",
    "rec_noise": (
        "**噪声：{what}**，使用固定的随机种子（同一幅图每次加的噪声都相同）。模型的输入是加噪后的图像；"
        "下面的每个误差都是重建结果与你**干净**的输入相比，这正是评判去噪自编码器的方式。"
    ),
    "rec_noise_gaussian": "高斯，σ = {level:.2f}",
    "rec_noise_mask": "遮挡，每个像素以 {level:.2f} 的概率置为 0",
    "rec_compare": "**A `{a}`：MSE {mse_a:.4f} · B `{b}`：MSE {mse_b:.4f}**。{verdict}",
    "rec_compare_a": "A 的重建更接近输入。",
    "rec_compare_b": "B 的重建更接近输入。",
    "rec_compare_tie": "两者与输入同样接近。",
    "rec_other_dataset": "B（`{name}`）是在 {dataset} 上训练的：它拿到的是按 A 的数据集准备的输入。",
    # Train tab
    "loading": "正在加载数据集…",
    "cannot_train": "**无法训练：** {why}",
    "measuring_untrained": "正在测量未训练的模型…",
    "training_step": "训练中：第 {epoch}/{epochs} 轮，第 {step}/{steps} 步，每秒 {rate:.0f} 张图片",
    "epoch_done": "第 {epoch}/{epochs} 轮完成：测试集 BCE {bce:.4f}，MSE {mse:.4f}",
    "no_first_step": "在第一步之前就停止了：没有模型。",
    "measuring_test": "正在测量测试集误差和 PCA 基线…",
    "no_model_kept": "**没有保留模型：** {why}",
    "why_done": "完成",
    "why_stopped": "已停止",
    "why_time": "已到时间上限",
    "kept": "模型 **`{name}`** 现在是你的当前模型（见重建标签页）；测试集 MSE {mse:.4f}。",
    "trained": "**训练{why}。** {kept} 可以用下面的按钮保存它。",
    "collapsed_head": "训练{why}，但模型已经坍缩",
    "stopping": "正在停止…",
    "nothing_training": "这个会话中没有正在进行的训练。",
    "not_started": "在开始之前就停止了。",
    # Train tab: live latent map, replay, pause/step
    "watch_info": "第 {i}/{n} 帧 · 第 {step} 步 · 第 {epoch:.2f} 轮",
    "watch_loss": " · 损失 {loss:.4f}",
    "watch_paused": " · **已暂停**",
    "paused_at": (
        "**已暂停**，停在第 {step} 步（第 {epoch:.2f} 轮）。**单步** 再走几步，**继续** 接着训练，"
        "**停止** 结束训练并保留模型。暂停超过 {minutes:.0f} 分钟（会话的空闲时间）无人操作，"
        "训练会自动停止并保留模型。"
    ),
    "why_idle": "已停止：暂停时间过长",
    "no_frames": "还没有帧：请先开始一次训练。",
    "saved": "已把 **`{name}`** 保存为检查点文件夹：用按钮下载它。",
    "limit": "在这台服务器上，{name}必须在 {low} 到 {high} 之间（现在是 {value}）",
    "limit_lr": "学习率必须在 (0, 0.1] 之内（现在是 {value}）",
    "epochs": "训练轮数",
    "train_size": "训练子集大小",
    "batch_size": "批大小",
    "hidden_size": "隐藏层大小",
    "latent_size": "潜在维度",
    # Embeddings tab
    "embed_head": "**{name}**，{n} 个测试点，随机种子 {seed}：{maps}；{seconds:.2f} 秒。",
    "embed_failed": "**{label} 失败**：{why}",
    "embed_absent": "尚未计算：{labels}。请按 **计算**。",
    "embed_strip": (
        "这个模型的编码只沿一个方向变化（例如潜在维度为 1），二维方法没有什么可排列的："
        "每张图都是一条带，x 是沿该方向的编码，y 是一点随机抖动。"
    ),
    "embed_star": "金色星星是你的画；下面是与它最接近的测试图片。",
    "embed_no_star": "在**重建**标签页画点什么或上传图片，就能在图上看到它。",
    "src_shipped": "内置",
    "src_cached": "已缓存",
    "src_computed": "新计算",
    # Embeddings: latent pad
    "pad_latent": "{name} 的潜在空间是二维的：这个平面就是潜在空间本身，编码 = (x, y)。",
    "pad_latent_1d": "{name} 的潜在空间是一维的：x 就是编码，y 不起作用。",
    "pad_pca": (
        "{name} 的潜在空间是 {dim} 维的：这个平面由 {n} 个测试编码的前两个主成分张成，"
        "编码 = 均值 + x · pc1 + y · pc2（x、y 以潜在空间单位计）。"
    ),
    "pad_grid": "在点的背后显示解码图像",
    "pad_drawing": "你的输入",
    "pad_server": "这个模型的解码器无法在页面中运行：由服务器解码（较慢）。",
    # errors
    "err_disk_full": "服务器磁盘已满，现在无法保存任何东西；请稍后再试。",
    "err_file": "服务器上的文件操作失败（{why}）。",
    "err_unexpected": "意外错误：{kind}",
    "err_generic": "出错了：{message}",
    "err_image": "无法使用这张图片：{message}",
    "err_data": "数据集不可用：{message}",
    "err_checkpoint": "检查点有问题：{message}",
    "err_hub": "Hugging Face Hub 操作失败：{message}",
    "err_unknown_model": "未知模型 '{name}'；可用的模型：{known}。",
    "err_no_model": "还没有可用的模型：请先在训练标签页训练一个。",
}
