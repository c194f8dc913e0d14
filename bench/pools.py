# ruff: noqa: RUF001, SIM905
# (Cyrillic and other scripts are meant; word lists read best as text.)
"""Raw material of the corpus: agencies and outlets, organizations, name parts with their spelling
variants, cues, roles and words. Plain data; ``bench.corpus`` draws from it."""

from __future__ import annotations

# (name, aliases): the agencies and outlets that relay most news, most popular first.
AGENCIES: list[tuple[str, list[str]]] = [
    ("Reuters", ["Thomson Reuters"]),
    ("AP", ["Associated Press", "The Associated Press"]),
    ("AFP", ["Agence France-Presse", "Agence France Presse"]),
    ("Hina", ["Croatian News Agency", "Hrvatska izvještajna novinska agencija"]),
    ("TASS", ["ТАСС", "Information Telegraph Agency of Russia"]),
    ("dpa", ["Deutsche Presse-Agentur"]),
    ("RIA Novosti", ["РИА Новости", "RIA"]),
    ("Ukrinform", ["Укрінформ"]),
    ("Interfax", ["Интерфакс"]),
    ("ANSA", ["Agenzia Nazionale Stampa Associata"]),
    ("EFE", ["Agencia EFE"]),
    ("Xinhua", ["Xinhua News Agency", "新华社"]),
    ("Kyodo", ["Kyodo News"]),
    ("Yonhap", ["Yonhap News Agency"]),
    ("Bloomberg", ["Bloomberg News"]),
    ("PAP", ["Polska Agencja Prasowa"]),
    ("ČTK", ["Czech News Agency", "Česká tisková kancelář"]),
    ("APA", ["Austria Presse Agentur"]),
    ("Anadolu Agency", ["Anadolu Ajansı", "AA"]),
    ("BTA", ["Bulgarian News Agency"]),
    ("Tanjug", ["Танјуг"]),
    ("MTI", ["Magyar Távirati Iroda"]),
    ("STA", ["Slovenian Press Agency", "Slovenska tiskovna agencija"]),
    ("Fena", ["Federalna novinska agencija"]),
    ("UNIAN", ["УНІАН"]),
]

# Outlets that publish what the agencies carry, with their aliases.
OUTLETS: list[tuple[str, list[str]]] = [
    ("BBC", ["British Broadcasting Corporation", "BBC News"]),
    ("CNN", ["Cable News Network"]),
    ("Al Jazeera", ["Al Jazeera English", "الجزيرة"]),
    ("The Guardian", ["Guardian"]),
    ("The New York Times", ["New York Times", "NYT"]),
    ("The Washington Post", ["Washington Post"]),
    ("Le Monde", []),
    ("Der Spiegel", ["Spiegel"]),
    ("Jutarnji list", ["Jutarnji"]),
    ("Večernji list", ["Vecernji list", "Večernji"]),
    ("Index.hr", ["Index"]),
    ("N1", ["N1 Hrvatska"]),
    ("Politico", ["Politico Europe"]),
    ("Axios", []),
    ("The Kyiv Independent", ["Kyiv Independent"]),
    ("Meduza", ["Медуза"]),
    ("Deutsche Welle", ["DW"]),
    ("Radio Free Europe", ["RFE/RL", "Radio Liberty"]),
    ("Financial Times", ["FT"]),
    ("The Times", []),
    ("El País", ["El Pais"]),
    ("Corriere della Sera", ["Corriere"]),
    ("Kommersant", ["Коммерсантъ"]),
    ("Ukrainska Pravda", ["Українська правда"]),
    ("Telegraf", []),
]

OUTLET_WORDS = ["Herald", "Gazette", "Times", "Post", "Daily", "Observer", "Chronicle", "Tribune", "Courier",
                "Sentinel", "Journal", "Record", "Express", "Monitor", "Dispatch", "Ledger",
                "News", "Standard"]  # fmt: skip

# (name, aliases) of bodies that speak through spokespeople.
ORGANIZATIONS: list[tuple[str, list[str]]] = [
    ("Pentagon", ["U.S. Department of Defense", "US Department of Defense", "DoD"]),
    ("Kremlin", ["Кремль"]),
    ("NATO", ["North Atlantic Treaty Organization", "OTAN"]),
    ("United Nations", ["UN", "U.N."]),
    ("European Commission", ["EC"]),
    ("White House", []),
    ("State Department", ["U.S. State Department", "US Department of State"]),
    ("World Health Organization", ["WHO"]),
    ("International Monetary Fund", ["IMF"]),
    ("European Central Bank", ["ECB"]),
    ("Red Cross", ["ICRC", "International Committee of the Red Cross"]),
    ("Europol", []),
    ("Interpol", []),
    ("IAEA", ["International Atomic Energy Agency"]),
    ("OSCE", ["Organization for Security and Co-operation in Europe"]),
]

COUNTRIES = ["Croatia", "Ukraine", "Russia", "Germany", "France", "Italy", "Spain", "Poland", "Serbia", "Bosnia",
             "Slovenia", "Hungary", "Austria", "Czechia", "Slovakia", "Romania", "Bulgaria", "Greece", "Turkey",
             "Israel", "Egypt", "Japan", "China", "Korea", "India", "Brazil", "Mexico", "Canada", "Australia",
             "Norway", "Sweden", "Finland", "Denmark", "Estonia", "Latvia", "Lithuania", "Georgia", "Moldova",
             "Belarus", "Kazakhstan", "Iran", "Iraq", "Syria", "Lebanon", "Jordan", "Morocco", "Nigeria", "Kenya",
             "Ethiopia", "Argentina", "Chile", "Peru", "Colombia", "Portugal", "Ireland", "Belgium", "Netherlands",
             "Switzerland", "Montenegro", "Albania"]  # fmt: skip

MINISTRIES = ["Defence", "Foreign Affairs", "Interior", "Health", "Finance", "Justice", "Energy", "Agriculture",
              "Transport", "Education", "Economy", "Environment"]  # fmt: skip

BODIES = ["Police", "Army", "Navy", "Coast Guard", "Central Bank", "Parliament", "Supreme Court", "Fire Service",
          "Border Police", "Statistics Office", "Election Commission", "Red Cross Society"]  # fmt: skip

TOWNS = ["Zagreb", "Split", "Rijeka", "Osijek", "Zadar", "Pula", "Dubrovnik", "Kyiv", "Kharkiv", "Odesa", "Lviv",
         "Dnipro", "Sevastopol", "Moscow", "Kazan", "Berlin", "Hamburg", "Munich", "Paris", "Lyon", "Marseille",
         "Rome", "Milan", "Naples", "Madrid", "Seville", "Warsaw", "Kraków", "Gdańsk", "Belgrade", "Novi Sad",
         "Sarajevo", "Mostar", "Ljubljana", "Maribor", "Budapest", "Vienna", "Graz", "Prague", "Brno", "Bratislava",
         "Bucharest", "Sofia", "Athens", "Thessaloniki", "Istanbul", "Ankara", "Tel Aviv", "Cairo", "Tokyo",
         "Osaka", "Beijing", "Shanghai", "Seoul", "Delhi", "Mumbai", "São Paulo", "Mexico City", "Toronto",
         "Sydney", "Oslo", "Stockholm", "Helsinki", "Copenhagen", "Tallinn", "Riga", "Vilnius", "Tbilisi",
         "Chișinău", "Minsk", "Almaty", "Tehran", "Baghdad", "Damascus", "Beirut", "Amman", "Rabat", "Lagos",
         "Nairobi", "Addis Ababa", "Buenos Aires", "Santiago", "Lima", "Bogotá", "Lisbon", "Dublin", "Brussels",
         "Amsterdam", "Zürich", "Geneva", "Podgorica", "Tirana", "Skopje", "Banja Luka", "Tuzla", "Varaždin",
         "Šibenik", "Karlovac", "Sisak", "Vukovar", "Čakovec", "Koprivnica", "Bjelovar", "Požega",
         "Gospić"]  # fmt: skip

# First names as (Cyrillic, usual Latin, other Latin spelling).
SLAVIC_FIRST = [
    ("Михаил", "Mikhail", "Mihail"), ("Сергей", "Sergei", "Sergey"), ("Алексей", "Alexei", "Aleksey"),
    ("Дмитрий", "Dmitry", "Dmitriy"), ("Юрий", "Yuri", "Yuriy"), ("Андрей", "Andrei", "Andrey"),
    ("Николай", "Nikolai", "Nikolay"), ("Владимир", "Vladimir", "Wladimir"), ("Евгений", "Yevgeny", "Evgeniy"),
    ("Фёдор", "Fyodor", "Fedor"), ("Олег", "Oleg", "Oleh"), ("Ольга", "Olga", "Olha"),
    ("Мария", "Maria", "Mariya"), ("Анна", "Anna", "Ana"), ("Татьяна", "Tatiana", "Tatyana"),
    ("Елена", "Yelena", "Elena"), ("Наталья", "Natalia", "Natalya"), ("Ирина", "Irina", "Iryna"),
    ("Виктор", "Viktor", "Victor"), ("Иван", "Ivan", "Iwan"), ("Пётр", "Pyotr", "Petr"),
    ("Григорий", "Grigory", "Grigoriy"), ("Максим", "Maxim", "Maksym"), ("Вадим", "Vadim", "Wadim"),
    ("Аркадий", "Arkady", "Arkadiy"), ("Валерий", "Valery", "Valeriy"), ("Геннадий", "Gennady", "Gennadiy"),
    ("Василий", "Vasily", "Vasyl"), ("Кирилл", "Kirill", "Kyrylo"), ("Ксения", "Ksenia", "Kseniya"),
]  # fmt: skip

# Surname syllables and endings as (Cyrillic, usual Latin, other Latin spelling).
SLAVIC_SYLLABLES = [
    ("ра", "ra", "ra"), ("зво", "zvo", "zvo"), ("жа", "zha", "za"), ("ко", "ko", "ko"), ("ше", "she", "she"),
    ("щу", "shchu", "schu"), ("хо", "kho", "ho"), ("лё", "lyo", "le"), ("ли", "li", "li"), ("ба", "ba", "ba"),
    ("ни", "ni", "ni"), ("мо", "mo", "mo"), ("ти", "ti", "ti"), ("ку", "ku", "ku"), ("ро", "ro", "ro"),
    ("ва", "va", "wa"), ("ле", "le", "le"), ("за", "za", "za"), ("че", "che", "tche"), ("ры", "ry", "ri"),
    ("бе", "be", "be"), ("ло", "lo", "lo"), ("ду", "du", "du"), ("го", "go", "go"), ("ми", "mi", "mi"),
    ("со", "so", "so"), ("ка", "ka", "ka"), ("па", "pa", "pa"), ("ши", "shi", "shi"), ("да", "da", "da"),
    ("кса", "ksa", "xa"), ("хи", "khi", "hi"), ("жу", "zhu", "zu"), ("йо", "yo", "io"), ("це", "tse", "ce"),
]  # fmt: skip
SLAVIC_ENDINGS = [
    ("ев", "yev", "ev"), ("ов", "ov", "off"), ("ин", "in", "in"), ("енко", "enko", "enko"),
    ("ский", "sky", "skiy"), ("ук", "uk", "ouk"), ("як", "yak", "iak"), ("ич", "ich", "itch"),
    ("ёв", "yov", "ev"), ("ий", "iy", "y"),
]  # fmt: skip

WESTERN_FIRST = ["Patrick", "John", "Mary", "Sarah", "Michael", "David", "James", "Emma", "Laura", "Thomas",
                 "Anne", "Peter", "Paul", "Susan", "Karen", "Mark", "Lisa", "Daniel", "Julia", "Robert",
                 "Hans", "Jürgen", "Klaus", "Ursula", "François", "Jean", "Marie", "Pierre", "Élodie", "Luca",
                 "Giulia", "Marco", "Carlos", "José", "María", "Lucía", "Sven", "Ingrid", "Lars", "Astrid",
                 "Jan", "Piotr", "Katarzyna", "Tomasz", "Zoltán", "Éva", "Andrej", "Ivana", "Ante", "Marija",
                 "Josip", "Ivica", "Željko", "Anđelko", "Dražen", "Goran", "Snježana", "Mirjana",
                 "Zoran", "Nikola"]  # fmt: skip
WESTERN_LAST = ["Ryder", "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Anderson", "Thomas",
                "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young",
                "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Lefèvre", "Moreau", "Laurent",
                "Rossi", "Russo", "Ferrari", "Esposito", "García", "Fernández", "López", "Martínez", "Sánchez",
                "Johansson", "Lindqvist", "Nowak", "Kowalski", "Wiśniewski", "Nagy", "Kovács", "Horváth",
                "Plenković", "Milanović", "Horvat", "Kovačević", "Babić", "Marić", "Jurić", "Novak", "Knežević",
                "Vuković", "Marković", "Petrović", "Matić", "Tomić", "Pavlović", "Božić", "Grgić", "Blažević",
                "Šarić", "Lovrić", "Perić", "Radić", "Filipović", "Đurić", "Žganec", "Čačić", "Ćosić", "Vidović",
                "O'Brien", "McCarthy", "O'Neill", "Fitzgerald", "van der Berg", "de Vries",
                "Jansen", "Peeters"]  # fmt: skip
# Letters folding drops (so a name gets an ASCII spelling as an alias).
ASCII_LETTERS = str.maketrans({"ć": "c", "č": "c", "š": "s", "ž": "z", "đ": "dj", "Ć": "C", "Č": "C", "Š": "S",
                               "Ž": "Z", "Đ": "Dj", "ü": "ue", "ö": "oe", "ä": "ae", "é": "e", "è": "e",
                               "á": "a", "í": "i", "ó": "o", "ś": "s", "ł": "l", "ń": "n"})  # fmt: skip

# (usual spelling, other spellings) of Arabic given names, and family names.
ARABIC_FIRST = [("Mohammed", ["Muhammad", "Mohamed"]), ("Ahmed", ["Ahmad"]), ("Hussein", ["Husayn", "Hussain"]),
                ("Omar", ["Umar"]), ("Youssef", ["Yusuf", "Yousef"]), ("Khaled", ["Khalid"]),
                ("Abdullah", ["Abdallah"]), ("Fatima", ["Fatma"]), ("Layla", ["Leila", "Laila"]),
                ("Mustafa", ["Mostafa"])]  # fmt: skip
ARABIC_LAST = ["Al-Sayed", "Haddad", "Nasser", "Khoury", "Mansour", "Saleh", "Hamdan", "Aziz", "Rahman", "Farouk",
               "Qasim", "Jaber", "Darwish", "Hariri", "Barakat"]  # fmt: skip

# Pinyin syllables for Chinese names (family name first; the alias puts it last).
CHINESE_FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
                  "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo"]  # fmt: skip
CHINESE_GIVEN = ["Wei", "Fang", "Yi", "Jing", "Lei", "Min", "Jun", "Hua", "Ping", "Qiang", "Xin", "Yan", "Hong",
                 "Bo", "Tao", "Ying", "Lan", "Gang", "Jie", "Hui", "Xiaoming", "Jianguo", "Zhiwei",
                 "Lihua"]  # fmt: skip

PERSON_ROLES = ["spokesman", "spokeswoman", "minister", "governor", "mayor", "adviser", "director", "commander",
                "ambassador", "chairman", "deputy minister", "press secretary", "chief of staff", "senator",
                "prosecutor", "economist", "analyst", "professor", "witness", "resident"]  # fmt: skip
JOURNALIST_ROLES = ["correspondent", "reporter", "editor", "columnist", "bureau chief"]

ANONYMOUS_FORMS = ["{} sources", "a spokesman for the {}", "officials at the {}", "a source close to the {}",
                   "people familiar with the {}"]  # fmt: skip

PUBLISH_CUES = ["reports", "writes", "reported", "says", "published", "carries", "broadcast", "runs"]
RELAY_CUES = ["citing", "according to", "quoting", "as reported by", "via", "relaying", "referring to"]
ORIGIN_CUES = ["said", "told reporters", "said in a statement", "wrote on Telegram", "said on X",
               "told a press conference", "announced", "told the agency", "said in an interview", "confirmed",
               "claimed", "denied", "stated", "posted on Facebook", "told parliament"]  # fmt: skip

# Words of news text, the commonest first: texts draw them Zipf-like.
COMMON_WORDS = """the of and to in a that is was for on said with he it as at by from his have be has are not
this but had they were an which its been their who would will or there after more one also about we
two first new when than people last year some out other all into up government over could president
can what time minister three years against because said country state officials before while military
police president week forces since war city attack killed world region told report however under
people's between during security most international talks army news against only agreement day
public national foreign defence troops border billion percent million support economic prices deal
sources according statement meeting leaders group election vote party court law crisis water power
energy gas oil market bank rate health hospital injured wounded dead dozens hundreds thousands
drone missile strike strikes attack attacks shelling ceasefire peace negotiations sanctions aid
refugees humanitarian evacuation civilians soldiers commander ministry spokesman spokeswoman
announced confirmed denied warned called urged rejected accused demanded promised expected reported
initiated conversation call phone first such since March April May June July August September
October November December January February Monday Tuesday Wednesday Thursday Friday Saturday Sunday
morning evening night today yesterday tomorrow earlier later recent latest major key senior former
prime parliament opposition coalition budget tax reform plan program project investment growth
inflation unemployment workers union strike protest protesters demonstration crowd capital streets
storm flood fire earthquake rescue damage homes roads bridge railway airport port ship ships vessel
coast island islands sea river mountain village villages town towns district province northern
southern eastern western central local regional federal European American Russian Ukrainian
Croatian Chinese German French British Turkish Israeli Palestinian Iranian Syrian Iraqi""".split()

# Words of other languages, with accents and other scripts, for folding and mixed-language texts.
FOREIGN_WORDS = """vlada ministar izjavio rekao napad grad policija predsjednik sabor izbori ozlijeđenih
poginulih građani županija žrtve uništeno održan sastanak Regierung Minister sagte Angriff Stadt Polizei
Präsident Wahlen Verletzte Bürger Gespräch gouvernement ministre déclaré attaque ville police président
élections blessés réunion accord sécurité уряд міністр заявив напад місто поліція президент вибори
поранені правительство министр заявил нападение город полиция президент выборы раненые Übereinkunft
señor año política económica situación crónica città governo sicurezza""".split()

# Syllables for made-up words: the long tail of a real vocabulary (names of places, jargon, typos).
WORD_SYLLABLES = ["ka", "ro", "mi", "tan", "vel", "dor", "sik", "lu", "pra", "ne", "zo", "ber", "gal", "ti",
                  "mon", "re", "sa", "vin", "chu", "lek", "do", "fa", "gri", "hol", "jas", "kor", "lim", "nor",
                  "pes", "quin", "ram", "sto", "tur", "ul", "vra", "wen", "yar", "zel"]  # fmt: skip

TITLE_WORDS = ["Live", "Update", "Exclusive", "Analysis", "Explainer", "Breaking", "Report", "Inside", "Why",
               "How", "What we know", "Timeline", "Opinion", "Interview", "Factbox"]  # fmt: skip
