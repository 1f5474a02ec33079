"""The strings of the SentencePiece reference that the C# tokenizer tests read
(models/fixtures/llama-tokenizer/sentencepiece-reference.jsonl), and writing it from the rebuilt Llama
tokenizer.model. llama_tokenizer_reference.py is the command; its docstring gives the file's format.
The strings are fixed lists and seeded random draws, so every run writes the same bytes.
"""
import collections
import json
import os
import random

from . import paths

FOLDER = os.path.join(paths.FIXTURES, "llama-tokenizer")
SPACE = "\u2581"

# ------------------------------------------------------------------------------------------------- VQA

COCO = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
        "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
        "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
        "scissors", "teddy bear", "hair drier", "toothbrush"]
PLURALS = {"person": "people", "bus": "buses", "bench": "benches", "sheep": "sheep", "skis": "skis",
           "knife": "knives", "sandwich": "sandwiches", "couch": "couches", "mouse": "mice",
           "scissors": "scissors", "toothbrush": "toothbrushes", "glass": "glasses", "box": "boxes",
           "church": "churches", "dish": "dishes", "leaf": "leaves", "shelf": "shelves", "woman": "women",
           "man": "men", "child": "children", "tomato": "tomatoes", "potato": "potatoes"}
EXTRA_OBJECTS = ["man", "woman", "child", "boy", "girl", "tree", "building", "sky", "cloud", "road", "street",
                 "window", "door", "wall", "floor", "table", "plate", "glass", "box", "sign", "flag", "hat",
                 "shirt", "jacket", "shoe", "ball", "fence", "grass", "water", "river", "mountain", "beach",
                 "wave", "snow", "lamp", "mirror", "picture", "flower", "leaf", "shelf", "circle", "square",
                 "triangle", "star", "church", "bridge", "tower", "dish", "tomato", "potato"]
OBJECTS = COCO + EXTRA_OBJECTS
COLORS = ["red", "blue", "green", "yellow", "white", "black", "brown", "orange", "pink", "purple", "gray",
          "grey", "silver", "gold", "beige", "maroon", "navy blue", "light blue", "dark green", "tan"]
ADJECTIVES = ["big", "small", "open", "closed", "empty", "full", "wet", "dry", "old", "new", "clean", "dirty",
              "broken", "moving", "parked", "sitting", "standing", "sleeping", "round", "square", "wooden",
              "metal", "plastic", "on", "off", "lit", "upside down", "in focus", "blurry", "visible"]
PLACES = ["on the table", "in the sky", "on the left", "on the right", "in the background",
          "in the foreground", "next to the car", "behind the fence", "under the tree", "in the water",
          "on the bed", "near the window", "at the top", "at the bottom", "in the middle"]
PEOPLE = ["the man", "the woman", "the person", "the boy", "the girl", "the child", "the player", "the people"]
VQA_TEMPLATES = [
    "What color is the {o}?", "What colour is the {o}?", "Is there a {o} in the image?",
    "Is there a {o} in the picture?", "Are there any {os} in the image?", "How many {os} are there?",
    "How many {os} are in the picture?", "How many {os} can you see?", "What is the {o} doing?",
    "Where is the {o}?", "Is the {o} {a}?", "Is the {o} {c}?", "What is on the {o}?",
    "What is next to the {o}?", "What is the {o} made of?", "Which side is the {o} on?",
    "Is the {o} {p}?", "What is {h} holding?", "What is {h} wearing?", "Is {h} holding a {o}?",
    "Does the {o} look {a}?", "Can you see a {o}?", "What kind of {o} is this?", "Why is the {o} {a}?",
    "Is this a {o} or a {o2}?", "What is the color of the {o}?", "What shape is the {o}?",
    "What is in front of the {o}?", "what color is the {o}", "is there a {o}", "IS THERE A {O}?",
    "The {o} is {c}. True or false?", "Q: What color is the {o}? A:", "Question: Is there a {o} in the image?",
    "Is there a {o} in the image? Answer yes or no.",
    "Is there a {o} in the image?\nAnswer the question using a single word or phrase.",
    "What color is the {o}?\nAnswer the question using a single word or phrase.",
]
VQA_FIXED = [
    "Describe the image.", "Describe this image in detail.", "What is happening in this picture?",
    "What is the main object in the image?", "What time of day is it?", "What is the weather like?",
    "Is it raining?", "Is this indoors or outdoors?", "What room is this?", "What sport is being played?",
    "What does the sign say?", "What is written on the board?", "Who is in the image?", "Is anyone smiling?",
    "How many people are in the image?", "What animal is this?", "What is the person doing?", "Yes", "No",
    "yes", "no", "Yes.", "No.", "yes.", "no.", "2", "two", "red", "The car is red.", "There is a dog.",
    "There are two cats on the bed.", "I don't know.", "It's a cat.", "Unanswerable", "unanswerable",
    "A", "B", "C", "D", "(A)", "(B)", "Answer:", "ASSISTANT:", "USER:", "Human:", "Assistant:",
    "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the human's questions.",
    "USER: <image>\nWhat color is the circle?\nASSISTANT:", "<image>\nQuestion: What is this?\nAnswer:",
    "[INST] <image>\nWhat is shown in this image? [/INST]", "<|user|>\n<image>\nWhat is this?</s>\n<|assistant|>\n",
    "USER: <image>\nIs there a snowboard in the image?\nASSISTANT: No",
]
LLAVA_TEMPLATES = ["USER: <image>\n{q}\nASSISTANT:", "<image>\nQuestion: {q}\nAnswer:", " {q}\nASSISTANT:",
                   "{q}\nASSISTANT:", "\n{q}", " {q}"]


def plural(o):
    if o in PLURALS:
        return PLURALS[o]
    last = o.split()[-1]
    head = o[: len(o) - len(last)]
    if last in PLURALS:
        return head + PLURALS[last]
    if last.endswith(("s", "x", "ch", "sh")):
        return o + "es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return o[:-1] + "ies"
    return o + "s"


def vqa(rng):
    out = []
    for o in COCO:  # POPE: every COCO category, three phrasings
        out.append(f"Is there a {o} in the image?")
        out.append(f"Is there a {o} in the image? Please answer this question with one word.")
        out.append(f"USER: <image>\nIs there a {o} in the image?\nASSISTANT:")
    for o in OBJECTS:
        out.append(f"What color is the {o}?")
        out.append(f"How many {plural(o)} are there?")
    out += VQA_FIXED
    seen = set(out)
    while len(out) < 1600:
        t = rng.choice(VQA_TEMPLATES)
        o, o2 = rng.choice(OBJECTS), rng.choice(OBJECTS)
        q = t.format(o=o, os=plural(o), O=o.upper(), o2=o2, a=rng.choice(ADJECTIVES), c=rng.choice(COLORS),
                     p=rng.choice(PLACES), h=rng.choice(PEOPLE))
        if rng.random() < 0.15:
            q = rng.choice(LLAVA_TEMPLATES).format(q=q)
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out


# ---------------------------------------------------------------------------------------------- numbers


def numbers(rng):
    out = [str(i) for i in range(0, 201)]
    out += [str(10 ** k) for k in range(3, 16)] + [str(2 ** k) for k in range(8, 64, 5)]
    out += ["-1", "-42", "+7", "0.5", "3.14", "3.14159265358979", "2.718", "1e-5", "6.02e23", "1E10", "0x1F",
            "0xDEADBEEF", "0b1011", "1,000", "1,234,567", "1.234.567,89", "10%", "99.9%", "$4.99", "€20", "£5",
            "¥1000", "12:30", "23:59:59", "2024-01-15", "15/01/2024", "01.02.2003", "+1 (555) 123-4567",
            "1st", "2nd", "3rd", "4th", "21st", "100th", "v1.2.3", "3.10.12", "1/2", "3/4", "½", "¾", "²", "³",
            "1920x1080", "4K", "5G", "COVID-19", "B-52", "24/7", "9-5", "1-800-FLOWERS", "007", "000", "0000",
            "00000000", "1234567890", "9876543210", "3 + 4 = 7", "12 * 12 = 144", "2^10 = 1024", "x = 42;",
            "π ≈ 3.14159", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "一二三", "१२३", "Ⅳ", "Ⅻ", "①②③"]
    for _ in range(150):
        k = rng.randint(1, 12)
        out.append(str(rng.randrange(10 ** (k - 1), 10 ** k)))
    for _ in range(80):
        out.append(f"{rng.uniform(-1000, 1000):.{rng.randint(1, 6)}f}")
    for _ in range(80):
        n = rng.randint(0, 99)
        o = plural(rng.choice(OBJECTS))
        out.append(rng.choice([f"There are {n} {o}.", f"{n}", f"{n} {o}", f"I see {n} {o} in the image.",
                               f"The answer is {n}.", f"{n}x{rng.randint(1, 99)}", f"Room {n}{rng.choice('ABC')}"]))
    return out


# ----------------------------------------------------------------------------------------------- runs

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def runs(chars):
    return [c * n for c in chars for n in range(1, 21)]


def whitespace(rng):
    out = ["", " "]
    for unit in [" ", "\n", "\t", "\r\n", "\r", "\u3000", "\u00a0"]:
        out += [unit * n for n in range(1, 21 if len(unit) == 1 and unit in " \n\t" else 11)]
    for _ in range(60):
        out.append("".join(rng.choice(" \n\t") for _ in range(rng.randint(1, 20))))
    words = ["hello", "Hello world", "a", "?", "What color is the car?", "<image>", "1", "\u4e2d\u6587"]
    for w in words:
        for unit in [" ", "\n", "\t"]:
            for n in [1, 2, 3, 4, 8, 16]:
                out += [unit * n + w, w + unit * n, unit * n + w + unit * n]
    for n in range(1, 21):
        out += ["a" + " " * n + "b", "a" + "\n" * n + "b", "word" + " " * n + "word", "x" + "\t" * n + "y"]
    out += [" \n ", "\n \n", " \t\n", "hello\nworld", "hello \n world", "hello\n\nworld", "line1\r\nline2",
            "  leading two", "trailing two  ", "   three   ", "a  b  c", "a   b   c", "\n\nQuestion:"]
    return out


# -------------------------------------------------------------------------------------------- mixed case

WORDS = ["hello", "world", "image", "question", "answer", "color", "picture", "people", "python", "token",
         "vision", "language", "model", "anchor", "attention", "dog", "cat", "snowboard", "giraffe", "umbrella",
         "keyboard", "microwave", "refrigerator", "television", "photograph", "beautiful", "tokenizer", "the",
         "and", "is", "there", "what", "where", "which", "yellow", "purple", "banana", "broccoli", "internationalization",
         "antidisestablishmentarianism", "supercalifragilisticexpialidocious", "llama", "sentencepiece", "onnx",
         "runtime", "decoder", "encoder", "projector", "embedding", "transformer", "softmax", "gradient"]


def mixed_case(rng):
    out = []
    for w in WORDS:
        out += [w, w.upper(), w.capitalize(), "".join(c.upper() if i % 2 else c for i, c in enumerate(w)),
                "".join(c.upper() if rng.random() < 0.5 else c for c in w)]
    out += ["iPhone", "eBay", "McDonald", "MacBook", "YouTube", "JavaScript", "TypeScript", "GitHub", "OpenAI",
            "LLaVA", "TinyLLaVA", "TinyLlama", "ONNXRuntime", "camelCaseIdentifier", "PascalCaseIdentifier",
            "snake_case_identifier", "SCREAMING_SNAKE_CASE", "kebab-case-identifier", "XMLHttpRequest",
            "getElementById", "AttAnchor", "NaN", "HTTPServerError", "iOS", "macOS", "USB-C", "DNA", "mRNA"]
    for _ in range(60):
        ws = [rng.choice(WORDS) for _ in range(rng.randint(2, 4))]
        out.append(rng.choice(["", "_", "-", " "]).join(
            w.capitalize() if rng.random() < 0.6 else w.upper() if rng.random() < 0.3 else w for w in ws))
    return out


# -------------------------------------------------------------------------------------------- alphabets

LATIN_WORDS = ["café", "naïve", "résumé", "façade", "jalapeño", "piñata", "Straße", "Ærøskøbing", "Łódź", "Dvořák",
               "Škoda", "Ångström", "Øresund", "São Paulo", "Curaçao", "Zürich", "Kraków", "Reykjavík", "Þingvellir",
               "Gdańsk", "İstanbul", "Şişli", "Cluj-Napoca Ţară", "Tiếng Việt", "Hà Nội", "crème brûlée",
               "À bientôt", "Ça va?", "¿Qué tal?", "¡Hola!", "Größe", "fiancée", "coöperate", "Māori", "Ōsaka",
               "ĳssel", "Œuvre", "œuf", "ﬁnance", "Ǆ ǅ ǆ", "ǲ", "Ɛ ɛ Ɔ ɔ", "Ə ə", "ȷ", "Ẁ ẃ ẅ", "ỳ ỹ ỵ", "ß ẞ",
               "«Bonjour»", "„Guten Tag“", "Déjà vu", "über", "Éclair", "MÜNCHEN", "ñandú", "Ñandú"]


def latin(rng):
    out = list(LATIN_WORDS)
    for cp in range(0x00A1, 0x0100):
        if cp != 0x00AD:  # soft hyphen included below, in a word
            out.append(chr(cp))
    out.append("soft\u00adhyphen")
    out += [chr(cp) for cp in range(0x0100, 0x0180)]
    out += [chr(cp) for cp in range(0x0180, 0x0250, 2)]
    out += [chr(cp) for cp in range(0x1EA0, 0x1F00, 3)]
    letters = [chr(cp) for cp in list(range(0xC0, 0x100)) + list(range(0x100, 0x180)) if chr(cp).isalpha()]
    for _ in range(60):
        out.append("".join(rng.choice(letters + list("aeioulnrst")) for _ in range(rng.randint(2, 10))))
    return out


CHINESE = ["你好，世界！", "这是一只猫。", "图片里有几个人？", "汽车是什么颜色的？", "天空是蓝色的。", "我喜欢吃苹果和香蕉。",
           "请描述这张图片。", "北京是中国的首都。", "今天天气很好。", "机器学习和人工智能", "這是繁體中文。", "圖片中有一隻狗嗎？",
           "中华人民共和国", "长城", "熊猫在吃竹子。", "一二三四五六七八九十", "人工智能模型可以回答关于图像的问题。",
           "桌子上有一个红色的杯子。", "你叫什么名字？", "谢谢！", "龘", "𠀀", "鬱", "齉"]
JAPANESE = ["こんにちは世界", "これは猫です。", "画像に犬はいますか？", "車は何色ですか？", "東京タワー", "ありがとうございます",
            "カタカナ", "ひらがな", "漢字とかなの混じった文", "私は学生です。", "ラーメンを食べたい。", "コンピューター",
            "ｶﾀｶﾅ", "ヴァイオリン", "きょうはいいてんきですね", "「こんにちは」と言った。", "〜", "ー", "・", "〒100-0001"]
KOREAN = ["안녕하세요", "세계", "이것은 고양이입니다.", "이미지에 개가 있습니까?", "자동차는 무슨 색입니까?", "한국어",
          "감사합니다", "서울특별시", "대한민국", "사과와 바나나", "ㄱㄴㄷㄹㅁㅂㅅ", "ㅏㅑㅓㅕㅗㅛ", "똠방각하", "쀍", "힣", "가"]


def cjk(rng):
    out = CHINESE + JAPANESE + KOREAN
    out += [chr(cp) for cp in range(0x3041, 0x3097)]  # hiragana
    out += [chr(cp) for cp in range(0x30A1, 0x30FB)]  # katakana
    for _ in range(120):
        out.append("".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(1, 10))))
    for _ in range(60):
        out.append("".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(1, 6))))
    for _ in range(40):
        out.append(rng.choice(CHINESE) + rng.choice([" ", "", " and ", "\n"]) + rng.choice(JAPANESE + KOREAN))
    return out


def flag(code):
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


EMOJI = ["😀", "😂", "🤣", "😍", "🥰", "😎", "🤔", "😭", "😡", "👍", "👎", "👏", "🙏", "💪", "🔥", "✨", "🎉", "❤️",
         "❤", "💔", "💯", "✅", "❌", "⭐", "🌟", "☀️", "🌈", "🍕", "🍔", "🍎", "🐶", "🐱", "🦙", "🐍", "🚗", "✈️",
         "🏠", "📷", "📸", "🖼️", "💻", "📱", "⌚", "☕", "🍺", "⚽", "🏀", "🎸", "🎮", "🤖", "👀", "🧠", "🦄", "🌍",
         "🇦", "©", "®", "™", "↔", "▶️", "⏩", "🆗", "🅰️", "〰️", "‼️", "⁉️"]
ZWJ = ["👨‍👩‍👧‍👦", "👩‍❤️‍👨", "👨‍💻", "👩‍🔬", "🧑‍🚀", "🏳️‍🌈", "🏴‍☠️", "👁️‍🗨️", "🐻‍❄️", "🧔‍♂️", "👩🏽‍⚕️",
       "🤷‍♀️", "🙋‍♂️", "🏃‍♀️‍➡️", "❤️‍🔥", "😮‍💨", "🐕‍🦺", "👨🏿‍🦰", "🧑🏻‍🤝‍🧑🏿", "🫱🏼‍🫲🏾"]
FLAGS = ["US", "GB", "FR", "DE", "JP", "CN", "KR", "IN", "BR", "CA", "AU", "IT", "ES", "MX", "RU", "UA", "NG",
         "ZA", "SE", "IL", "EG", "TH", "GR"]
SKIN = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]


def emoji(rng):
    out = list(EMOJI) + list(ZWJ) + [flag(c) for c in FLAGS]
    out += ["🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"]  # England (tag sequence)
    out += ["👋" + s for s in SKIN] + ["👍" + s for s in SKIN]
    out += [k + "\ufe0f\u20e3" for k in "0123456789#*"]
    out += ["I love it ❤️", "Great job! 👍👍👍", "🔥🔥🔥", "😀😀", "Look: 🐶🐱🦙", "flag " + flag("FR") + flag("DE"),
            "family: 👨‍👩‍👧‍👦!", "Is there a 🐶 in the image?", "😀 hello", "hello 😀", "😀\n😀"]
    pool = EMOJI + ZWJ
    for _ in range(50):
        out.append(rng.choice(["", " ", "The answer: "]).join(rng.choice(pool) for _ in range(rng.randint(1, 5))))
    return out


SCRIPTS = {
    "arabic": (["مرحبا بالعالم", "ما لون السيارة؟", "هل يوجد كلب في الصورة؟", "اللغة العربية", "شكرا جزيلا",
                "بِسْمِ اللَّهِ", "القاهرة", "١٢٣ كتاب", "السلام عليكم ورحمة الله", "ﻻ", "ﷲ", "سيارة حمراء"],
               range(0x0621, 0x064B)),
    "hebrew": (["שלום עולם", "מה צבע המכונית?", "יש כלב בתמונה?", "עברית", "תודה רבה", "בְּרֵאשִׁית", "ירושלים",
                "שָׁלוֹם", "אבגד", "ﬠ"], range(0x05D0, 0x05EB)),
    "cyrillic": (["Привет, мир!", "Какого цвета машина?", "Есть ли собака на картинке?", "русский язык",
                  "Спасибо", "Україна", "Ёлка", "ЩИ", "Җ җ Ң ң", "Беларусь, Ўў", "Српски: Ђ ђ Ћ ћ", "МОСКВА"],
                 range(0x0400, 0x0460)),
    "greek": (["Γειά σου Κόσμε", "Τι χρώμα είναι το αυτοκίνητο;", "ελληνικά", "ΑΘΗΝΑ", "Ευχαριστώ",
               "α + β = γ", "Σίσυφος", "ς σ Σ", "ᾅ ῷ", "Ω ≠ Ω", "μ vs µ", "λόγος"], range(0x0391, 0x03CA)),
    "devanagari": (["नमस्ते दुनिया", "गाड़ी किस रंग की है?", "क्या तस्वीर में कुत्ता है?", "हिन्दी", "धन्यवाद",
                    "संस्कृतम्", "क्षत्रिय", "ज्ञान", "श्री", "ॐ", "१२३४", "मराठी भाषा"], range(0x0905, 0x0940)),
    "thai": (["สวัสดีชาวโลก", "รถสีอะไร", "มีสุนัขในภาพไหม", "ภาษาไทย", "ขอบคุณครับ", "กรุงเทพมหานคร", "ไม้ยมก ๆ",
              "๑๒๓", "น้ำ", "ที่นี่"], range(0x0E01, 0x0E3B)),
}


def script(name, rng):
    sentences, letters = SCRIPTS[name]
    letters = [chr(cp) for cp in letters if chr(cp).isprintable()]
    out = list(sentences) + letters
    for _ in range(20):
        out.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 12))))
    for _ in range(10):
        out.append(rng.choice(sentences) + rng.choice([" ", " - ", "\n", " 123 ", " OK "]) + rng.choice(sentences))
    return out


# -------------------------------------------------------------------------------------------------- code

CSHARP = [
    "using System;", "namespace AttAnchor;", "public sealed class Tokenizer : IDisposable\n{\n}",
    "var ids = tokenizer.Encode(\"Hello world!\");", "Console.WriteLine($\"{x} + {y} = {x + y}\");",
    "public static int Add(int a, int b) => a + b;", "if (x is null) throw new ArgumentNullException(nameof(x));",
    "foreach (var (key, value) in dict)\n{\n    Console.WriteLine(key);\n}", "List<int> xs = [1, 2, 3];",
    "await using var session = new InferenceSession(path);", "private readonly Dictionary<string, int> _map = new();",
    "[Fact]\npublic void Encodes() => Assert.Equal(expected, actual);", "string s = @\"C:\\path\\to\\file\";",
    "int[] a = new int[10];\nfor (int i = 0; i < a.Length; i++) a[i] = i * i;", "#nullable enable",
    "/// <summary>Encodes text.</summary>", "// TODO: remove this", "x ??= y; z = x?.Length ?? 0;",
    "Span<byte> buffer = stackalloc byte[256];", "record Point(double X, double Y);",
]
PYTHON = [
    "import numpy as np", "def encode(text: str) -> list[int]:\n    return sp.encode(text)",
    "for i in range(10):\n    print(i)", "if __name__ == \"__main__\":\n    sys.exit(main())",
    "x = [i * i for i in range(10) if i % 2 == 0]", "with open(path, \"rb\") as f:\n    data = f.read()",
    "class Model(nn.Module):\n    def __init__(self):\n        super().__init__()",
    "print(f\"{name!r}: {value:.3f}\")", "lambda x: x + 1", "d = {\"a\": 1, 'b': 2}", "# comment", "@dataclass\nclass A:\n    x: int = 0",
    "try:\n    pass\nexcept Exception as e:\n    raise", "async def main():\n    await asyncio.sleep(1)",
    "assert ids == [15043, 3186, 29991]", "\tindented_with_tab = True", "    four_spaces = None",
    "        eight_spaces = ...", "return x**2 // 3 % 7", "import torch; torch.manual_seed(0)",
]
JSON_SNIPPETS = [
    "{}", "[]", "{\"a\": 1}", "{\"text\": \"Hello\", \"ids\": [15043]}", "[1, 2, 3]", "{\"nested\": {\"k\": [true, false, null]}}",
    "{\n  \"name\": \"tiny\",\n  \"vocab_size\": 32000\n}", "\"\\u00e9\\n\\t\"", "{\"pi\": 3.14159, \"e\": 2.71828e0}",
    "{\"image_size\": 336, \"patch_size\": 14, \"mean\": [0.48145466, 0.4578275, 0.40821073]}",
    "[{\"id\": 1}, {\"id\": 2}]", "{\"empty\": \"\", \"space\": \" \"}", "null", "true", "false", "-0.0",
    "{\"emoji\": \"😀\", \"cjk\": \"中文\"}", "{\"key with spaces\": \"value\"}", "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", "[[[[]]]]",
]
HTML = [
    "<html>", "</html>", "<!DOCTYPE html>", "<div class=\"container\">Hello</div>", "<br/>", "<p>Paragraph</p>",
    "<a href=\"https://example.com\">link</a>", "<img src=\"cat.png\" alt=\"A cat\">", "&amp; &lt; &gt; &quot; &#39; &nbsp;",
    "<script>alert('hi');</script>", "<style>body { margin: 0; }</style>", "<!-- comment -->",
    "<ul>\n  <li>One</li>\n  <li>Two</li>\n</ul>", "<table><tr><td>1</td></tr></table>", "<meta charset=\"utf-8\">",
    "<input type=\"text\" name=\"q\" value=\"\">", "<span style=\"color: red\">red</span>", "<h1>Title</h1>",
    "<svg width=\"10\" height=\"10\"><circle r=\"5\"/></svg>", "<s>not a special token</s>",
]


def code(snippets, rng):
    out = list(snippets)
    for _ in range(10):
        out.append("\n".join(rng.sample(snippets, 3)))
    for s in snippets[:10]:
        out.append("    " + s.replace("\n", "\n    "))
    return out


# -------------------------------------------------------------------------------------------------- URLs

DOMAINS = ["example.com", "www.google.com", "github.com", "huggingface.co", "localhost:8080", "127.0.0.1",
           "en.wikipedia.org", "docs.microsoft.com", "xn--bcher-kva.example", "bücher.example", "例子.测试",
           "sub.domain.co.uk", "[::1]", "192.168.0.1:3000"]
PATHS = ["", "/", "/index.html", "/wiki/Llama", "/search?q=llama+tokenizer&lang=en", "/a/b/c/d.png",
         "/path%20with%20spaces", "/user/repo/blob/main/README.md#L10-L20", "/api/v1/items/42?sort=desc",
         "/~user/", "/café", "/?", "/#fragment", "/file.tar.gz", "/images/cat.jpg?w=336&h=336"]


def urls(rng):
    out = ["https://example.com", "http://example.com", "ftp://ftp.example.com/pub/file.txt",
           "mailto:someone@example.com", "file:///C:/Users/test/image.png", "file:///home/user/image.png",
           "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
           "www.example.com", "example.com/path", "user@example.com", "ssh://git@github.com:22/user/repo.git",
           "https://user:pass@example.com:8443/path?x=1#y"]
    while len(out) < 100:
        u = rng.choice(["https://", "http://", ""]) + rng.choice(DOMAINS) + rng.choice(PATHS)
        if rng.random() < 0.2:
            u = rng.choice(["See ", "Visit ", "Link: ", "("]) + u + rng.choice(["", ".", ")", " for details"])
        out.append(u)
    return out


# ------------------------------------------------------------------------------------------------- long


def long_strings(rng):
    words = WORDS + [w for o in OBJECTS for w in o.split()] + COLORS
    out = []
    for n in [2000, 3000, 5000]:
        s = []
        while sum(len(w) + 1 for w in s) < n:
            w = rng.choice(words)
            s.append(w.capitalize() if rng.random() < 0.1 else w)
            if rng.random() < 0.08:
                s[-1] += rng.choice([".", ",", "?", "!", ";", ":"])
        out.append(" ".join(s))
    out.append("\n".join(CSHARP + PYTHON + JSON_SNIPPETS + HTML))
    out.append(" ".join(CHINESE + JAPANESE + KOREAN) * 3)
    out.append(" ".join(s for v in SCRIPTS.values() for s in v[0]) * 2)
    out.append(" ".join(EMOJI + ZWJ) * 5)
    out.append("a" * 3000)
    out.append(" " * 2000)
    out.append("ab " * 1000)
    out.append("=" * 1000 + "\n" + "-" * 1000)
    return out


# ------------------------------------------------------------------------------------- outside the vocabulary

ABSENT_RANGES = [(0x0250, 0x02B0), (0x0530, 0x0590), (0x0600, 0x0700), (0x0900, 0x0980), (0x0980, 0x0A00),
                 (0x0B80, 0x0C00), (0x10A0, 0x1100), (0x1200, 0x1380), (0x13A0, 0x1400), (0x1780, 0x1800),
                 (0x2100, 0x2200), (0x2200, 0x2300), (0x2500, 0x2600), (0x2600, 0x2700), (0x3400, 0x4DC0),
                 (0x4E00, 0xA000), (0xA000, 0xA490), (0xAC00, 0xD7A4), (0xE000, 0xF900), (0xFB00, 0xFB50),
                 (0x10000, 0x10080), (0x10300, 0x10330), (0x1D400, 0x1D800), (0x1F300, 0x1F650), (0x1F900, 0x1FA00),
                 (0x20000, 0x2A6E0), (0xF0000, 0xF0100), (0x10FF00, 0x110000)]


def absent_chars(vocab):
    known = {p for p in vocab[259:] if len(p) == 1}
    chosen = []
    for lo, hi in ABSENT_RANGES:
        picked = [chr(cp) for cp in range(lo, hi)
                  if chr(cp) not in known and (chr(cp).isprintable() or 0xE000 <= cp < 0xF900 or cp >= 0xF0000)]
        chosen += picked[:: max(1, len(picked) // 12)][:12]
    return chosen


def byte_fallback(vocab, rng):
    chars = absent_chars(vocab)
    out = list(chars)
    out += [c * 3 for c in chars[::4]]
    out += [f"a{c}b" for c in chars[1::4]] + [f"Is there a {c} in the image?" for c in chars[2::8]]
    for _ in range(80):
        out.append("".join(rng.choice(chars + list("ab ")) for _ in range(rng.randint(2, 10))))
    out += ["\U0010FFFF", "\uFFFF", "\uFFFE", "\uFDD0", "\U0001FFFF"]  # noncharacters are valid scalars
    return out


def control(rng):
    cps = [cp for cp in range(1, 0x20) if cp not in (9, 10, 13)] + [0x7F] + list(range(0x80, 0xA0))
    cps += [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF, 0x061C, 0x00AD, 0x034F,
            0x180E, 0x202A, 0x202E]
    out = []
    for cp in cps:
        c = chr(cp)
        out += [c, c * 3, f"a{c}b", f"{c} hello", f"hello {c}"]
    for _ in range(30):
        out.append("".join(rng.choice([chr(cp) for cp in cps] + list("xy ")) for _ in range(rng.randint(2, 8))))
    return out


def replacement():
    r = "\ufffd"
    return [r, r * 2, r * 3, r * 8, f"a{r}b", f" {r}", f"{r} ", f"caf{r}", f"{r}{r} hello {r}", f"\n{r}\n",
            f"{r}\u0301", f"中{r}文", f"😀{r}😀", f"<0xEF><0xBF><0xBD>", f"{r}?", f"?{r}", f"{r}a{r}a{r}",
            f"The text was {r}{r}{r} corrupted.", f"{r}\t{r}", f"Is there a {r} in the image?"]


def combining():
    out = []
    for cp in range(0x0300, 0x0370):
        out.append("e" + chr(cp))
    for base in "aAoOnNuUcC":
        out += [base + "\u0301", base + "\u0308", base + "\u0303", base + "\u0327", base + "\u030A"]
    nfc_nfd = [("café", "cafe\u0301"), ("naïve", "nai\u0308ve"), ("Ångström", "A\u030Angstro\u0308m"),
               ("São", "Sa\u0303o"), ("Việt", "Vie\u0323\u0302t"), ("한", "\u1112\u1161\u11AB"), ("é", "e\u0301")]
    for a, b in nfc_nfd:
        out += [a, b]
    out += ["a\u0308\u0301", "Z\u0351\u036B\u0343\u036A\u0302\u036B\u033D\u034F\u0334\u0319\u0324\u031E\u0349\u035A\u032F\u031E\u0320\u034DA\u036B\u0357\u0334\u0362\u0335\u031C\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030E\u0305\u035B\u0341\u0334\u033B\u0348\u034D\u0354\u0339O\u0342\u030C\u030C\u0358\u0328\u0335\u0339\u033B\u031D\u0333",
            "\u0301", "\u0301\u0301", " \u0301", "\u20DD", "a\u20DD", "1\u20E3", "\u0915\u094D\u0937", "\u0E01\u0E49",
            "\u05E9\u05C1", "\u3099", "\u304B\u3099", "\u1AB0", "x\u1DC0", "q\uFE20\uFE21", "\u0363\u0364\u0365"]
    return out


SPECIAL_LOOKING = ["<s>", "</s>", "<unk>", "<pad>", "<0x0A>", "<0x00>", "<0xFF>", "<s>Hello</s>", "<image>",
                   "<image>\n", "\u2581", "\u2581\u2581", "\u2581hello", "hello\u2581world", "\u2581 \u2581",
                   "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                   "<|user|>", "<|assistant|>", "<im_start>", "<im_end>", "<im_patch>", " \u2047 ", "\u2047",
                   "<", ">", "</", "/>", "<<", ">>", "< s >", "<S>", "<UNK>"]


def vocab_sample(vocab, rng):
    normal = vocab[259:]
    return [p.replace(SPACE, " ") for p in rng.sample(normal, 1500)]


# --------------------------------------------------------------------------------------------------- all


def cases(vocab):
    """[(category, text)] in generation order, duplicates within a category removed."""
    rng = random.Random(1234)
    groups = [
        ("vqa", vqa(rng)),
        ("numbers", numbers(rng)),
        ("runs-punctuation", runs(PUNCTUATION)),
        ("runs-letters", runs("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
        ("runs-digits", runs("0123456789")),
        ("whitespace", whitespace(rng)),
        ("mixed-case", mixed_case(rng)),
        ("latin", latin(rng)),
        ("cjk", cjk(rng)),
        ("emoji", emoji(rng)),
    ]
    groups += [(name, script(name, rng)) for name in SCRIPTS]
    groups += [
        ("code-csharp", code(CSHARP, rng)),
        ("code-python", code(PYTHON, rng)),
        ("code-json", code(JSON_SNIPPETS, rng)),
        ("code-html", code(HTML, rng)),
        ("urls", urls(rng)),
        ("long", long_strings(rng)),
        ("byte-fallback", byte_fallback(vocab, rng)),
        ("control", control(rng)),
        ("replacement-char", replacement()),
        ("combining", combining()),
        ("special-looking", SPECIAL_LOOKING),
        ("vocab-pieces", vocab_sample(vocab, rng)),
    ]
    out = []
    for name, texts in groups:
        for t in dict.fromkeys(texts):
            if "\0" in t or any(0xD800 <= ord(c) < 0xE000 for c in t):
                raise ValueError(f"{name}: {t!r} holds NUL or a surrogate")
            out.append((name, t))
    return out


def line(obj):
    s = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    return s.replace("\u0085", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write(model, out):
    """Writes the reference for the tokenizer.model bytes `model` to the path `out`, one JSON object per
    line; returns the count of strings per category."""
    from .llama_tokenizer import processor

    sp, sp_nodp = processor(model), processor(model, add_dummy_prefix=False)
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    counts = collections.Counter()
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for category, text in cases(vocab):
            counts[category] += 1
            f.write(line({"text": text, "ids": sp.encode(text), "ids_no_dummy_prefix": sp_nodp.encode(text),
                          "category": category}) + "\n")
    return counts
