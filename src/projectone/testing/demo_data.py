"""Deterministic demo data: advisors across types, tiers and languages, and approved packs.

Used by ``projectone seed`` and ``projectone demo``, and handy in embedders' tests. The same
``seed`` always yields the same people and posts; ids and time come from the caller.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import attrs

from projectone.domain.advisor import Advisor, AdvisorStatus, AdvisorType, Tier
from projectone.domain.content import ContentPack, ContentStatus, ContentType, ContentVariant
from projectone.domain.fallback import LibraryEntry
from projectone.domain.language import Language
from projectone.ports.clock import IdGenerator
from projectone.testing.builders import reviewed

__all__ = ["LIBRARY_AUTHOR_ID", "demo_advisors", "demo_library", "demo_packs", "lacks_content"]

_FIRST = (
    "Aarav",
    "Priya",
    "Rohan",
    "Ananya",
    "Vikram",
    "Sneha",
    "Arjun",
    "Kavya",
    "Rahul",
    "Meera",
    "Siddharth",
    "Pooja",
    "Aditya",
    "Neha",
    "Karan",
    "Isha",
    "Manish",
    "Shruti",
)
_LAST = (
    "Sharma",
    "Patil",
    "Deshpande",
    "Iyer",
    "Kulkarni",
    "Gupta",
    "Joshi",
    "Mehta",
    "Reddy",
    "Nair",
    "Chavan",
    "Agarwal",
    "Bhosale",
    "Verma",
    "Kapoor",
    "Shinde",
)
_LANGUAGE_MIXES = (
    (Language.EN,),
    (Language.EN, Language.HI),
    (Language.HI, Language.EN),
    (Language.MR, Language.EN),
    (Language.EN, Language.HI, Language.MR),
    (Language.HI,),
    (Language.MR,),
)
# Most advisors keep the 06:00 default; some prefer a later slot.
_SEND_TIMES = (dt.time(6, 0),) * 6 + (dt.time(6, 30), dt.time(7, 0))

_MF_WARNING = {
    Language.EN: "Mutual Fund investments are subject to market risks, read all scheme "
    "related documents carefully.",
    Language.HI: "म्यूचुअल फंड निवेश बाजार जोखिमों के अधीन हैं, योजना संबंधी सभी दस्तावेज़ ध्यान से पढ़ें।",
    Language.MR: "म्युच्युअल फंड गुंतवणूक बाजारातील जोखमींच्या अधीन आहे, योजनेसंबंधी सर्व कागदपत्रे काळजीपूर्वक वाचा.",
}
_RIA_WARNING = {
    Language.EN: "Investment in securities market are subject to market risks. Read all the "
    "related documents carefully before investing. Registration granted by SEBI, membership "
    "of BASL and certification from NISM in no way guarantee performance of the intermediary "
    "or provide any assurance of returns to investors.",
    Language.HI: "प्रतिभूति बाजार में निवेश बाजार जोखिमों के अधीन है। निवेश करने से पहले सभी "
    "संबंधित दस्तावेज़ ध्यान से पढ़ें। SEBI द्वारा दिया गया पंजीकरण, BASL की सदस्यता और NISM "
    "का प्रमाणन मध्यस्थ के प्रदर्शन की कोई गारंटी नहीं देते और निवेशकों को रिटर्न का कोई "
    "आश्वासन नहीं देते।",
    Language.MR: "रोखे बाजारातील गुंतवणूक बाजारातील जोखमींच्या अधीन आहे. गुंतवणूक करण्यापूर्वी "
    "सर्व संबंधित कागदपत्रे काळजीपूर्वक वाचा. SEBI ने दिलेली नोंदणी, BASL चे सदस्यत्व आणि "
    "NISM चे प्रमाणपत्र मध्यस्थाच्या कामगिरीची हमी देत नाहीत किंवा गुंतवणूकदारांना परताव्याचे "
    "कोणतेही आश्वासन देत नाहीत.",
}

# topic -> language -> (title, body, call to action)
_POSTS: dict[str, dict[Language, tuple[str, str, str]]] = {
    "sip_basics": {
        Language.EN: (
            "Small steps, steady habit",
            "A Systematic Investment Plan invests a fixed amount every month. Over "
            "time you buy more units when prices are low and fewer when they are "
            "high, which smooths out your average cost.",
            "Reply SIP to review your monthly plan with me.",
        ),
        Language.HI: (
            "छोटे कदम, नियमित आदत",
            "सिस्टेमैटिक इन्वेस्टमेंट प्लान (SIP) में हर महीने एक तय राशि निवेश होती "
            "है। कीमतें कम हों तो ज़्यादा यूनिट और ज़्यादा हों तो कम यूनिट मिलती हैं, "
            "जिससे औसत लागत संतुलित रहती है।",
            "अपनी मासिक योजना पर बात करने के लिए SIP लिखकर जवाब दें।",
        ),
        Language.MR: (
            "छोटी पावले, नियमित सवय",
            "सिस्टिमॅटिक इन्व्हेस्टमेंट प्लॅन (SIP) मध्ये दर महिन्याला ठराविक रक्कम "
            "गुंतवली जाते. किंमत कमी असताना जास्त युनिट्स आणि जास्त असताना कमी "
            "युनिट्स मिळतात, त्यामुळे सरासरी खर्च संतुलित राहतो.",
            "तुमच्या मासिक योजनेबद्दल बोलण्यासाठी SIP असे उत्तर द्या.",
        ),
    },
    "emergency_fund": {
        Language.EN: (
            "Your first financial goal",
            "Before investing for growth, keep three to six months of expenses in "
            "an easily accessible emergency fund. It protects your long-term "
            "investments from being sold at the wrong time.",
            "Ask me how much your emergency fund should be.",
        ),
        Language.HI: (
            "आपका पहला वित्तीय लक्ष्य",
            "बढ़त के लिए निवेश से पहले तीन से छह महीने के खर्च जितना आपातकालीन फंड "
            "रखें, जिसे ज़रूरत पर तुरंत निकाला जा सके। इससे लंबी अवधि के निवेश गलत "
            "समय पर बेचने नहीं पड़ते।",
            "आपका आपातकालीन फंड कितना हो, यह जानने के लिए मुझसे पूछें।",
        ),
        Language.MR: (
            "तुमचे पहिले आर्थिक उद्दिष्ट",
            "वाढीसाठी गुंतवणूक करण्यापूर्वी तीन ते सहा महिन्यांच्या खर्चाइतका "
            "आपत्कालीन निधी सहज उपलब्ध ठेवा. त्यामुळे दीर्घकालीन गुंतवणूक चुकीच्या "
            "वेळी विकावी लागत नाही.",
            "तुमचा आपत्कालीन निधी किती असावा हे मला विचारा.",
        ),
    },
    "tax_saving": {
        Language.EN: (
            "Plan tax saving early",
            "Spreading tax-saving investments across the year is easier on your "
            "budget than a rush in March. Choose options that fit your goals and "
            "lock-in comfort, not only the deduction.",
            "Message me to plan this year's tax-saving investments.",
        ),
        Language.HI: (
            "कर बचत की योजना जल्दी बनाएँ",
            "कर बचत वाले निवेश को पूरे साल में बाँटना मार्च की जल्दबाज़ी से आसान है। "
            "सिर्फ़ कटौती नहीं, अपने लक्ष्य और लॉक-इन के हिसाब से विकल्प चुनें।",
            "इस साल के कर बचत निवेश की योजना के लिए मुझे संदेश भेजें।",
        ),
        Language.MR: (
            "कर बचतीचे नियोजन लवकर करा",
            "कर बचतीची गुंतवणूक वर्षभर विभागून केल्यास मार्चमधील घाईपेक्षा बजेटवर "
            "कमी ताण येतो. फक्त वजावट नव्हे, तर तुमची उद्दिष्टे आणि लॉक-इन पाहून "
            "पर्याय निवडा.",
            "या वर्षीच्या कर बचत गुंतवणुकीच्या नियोजनासाठी मला संदेश पाठवा.",
        ),
    },
    "goal_planning": {
        Language.EN: (
            "Name your goals",
            "A goal with a date and an amount is easier to plan for than 'saving "
            "more'. Write down your child's education, your home and your "
            "retirement, and review them once a year.",
            "Share one goal with me and we will map it together.",
        ),
        Language.HI: (
            "अपने लक्ष्यों को नाम दें",
            "तारीख और राशि वाला लक्ष्य 'ज़्यादा बचत' से आसान होता है। बच्चों की "
            "पढ़ाई, घर और रिटायरमेंट लिखें और साल में एक बार उनकी समीक्षा करें।",
            "अपना एक लक्ष्य मुझसे साझा करें, हम मिलकर योजना बनाएँगे।",
        ),
        Language.MR: (
            "तुमच्या उद्दिष्टांना नाव द्या",
            "तारीख आणि रक्कम असलेले उद्दिष्ट 'जास्त बचत' पेक्षा सोपे असते. मुलांचे "
            "शिक्षण, घर आणि निवृत्ती लिहून ठेवा आणि वर्षातून एकदा आढावा घ्या.",
            "तुमचे एक उद्दिष्ट मला सांगा, आपण मिळून नियोजन करू.",
        ),
    },
}


def demo_advisors(
    count: int, *, ids: IdGenerator, now: dt.datetime, start: int = 0, seed: int = 2026
) -> list[Advisor]:
    """``count`` valid, distinct advisors numbered from ``start`` (registration numbers, emails
    and phone numbers derive from the number, so consecutive batches never collide)."""
    rng = random.Random(seed + start)
    advisors = []
    for n in range(start, start + count):
        kind = AdvisorType.RIA if rng.random() < 0.35 else AdvisorType.MFD
        registration = f"INA{n + 1:09d}" if kind is AdvisorType.RIA else f"ARN-{n + 1}"
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        tier = rng.choices((Tier.BASIC, Tier.STANDARD, Tier.PRO), weights=(5, 3, 2))[0]
        advisors.append(
            Advisor(
                id=ids.new_id(),
                name=f"{first} {last}",
                type=kind,
                registration_no=registration,
                email=f"{first.lower()}.{last.lower()}.{n + 1}@example.in",
                whatsapp_number=f"+9170{n + 1:08d}",
                languages=rng.choice(_LANGUAGE_MIXES),
                send_time=rng.choice(_SEND_TIMES),
                tier=tier,
                status=AdvisorStatus.ACTIVE,
                # One advisor in fifty has not opted in yet: the planner must leave them out.
                whatsapp_opt_in_at=(
                    None if n % 50 == 49 else now - dt.timedelta(days=rng.randint(1, 400))
                ),
                created_at=now - dt.timedelta(days=rng.randint(400, 800)),
            )
        )
    return advisors


def lacks_content(number: int) -> bool:
    """Whether demo advisor ``number`` (as numbered by :func:`demo_advisors`) has nothing of
    their own approved for the morning: one in ten, so that the demo shows fallbacks."""
    return number % 10 == 9


def _disclaimer(advisor: Advisor, language: Language) -> str:
    if advisor.type is AdvisorType.RIA:
        return f"{_RIA_WARNING[language]} SEBI Reg. No. {advisor.registration_no}"
    return f"{_MF_WARNING[language]} AMFI {advisor.registration_no}"


def demo_packs(
    advisors: Sequence[Advisor],
    date: dt.date,
    *,
    ids: IdGenerator,
    now: dt.datetime,
    status: ContentStatus = ContentStatus.APPROVED,
) -> list[ContentPack]:
    """One pack per advisor for ``date``, in each of the advisor's languages.

    Approved by default, with the review record the workflow would leave (reviewer
    ``admin:demo``); ``status=ContentStatus.DRAFT`` gives drafts to take through the workflow.
    """
    topics = sorted(_POSTS)
    packs = []
    for advisor in advisors:
        # Rotating topics by date and advisor gives variety that is still reproducible.
        topic = topics[(date.toordinal() + int(advisor.whatsapp_number[-4:])) % len(topics)]
        variants = {}
        for language in advisor.languages:
            title, body, cta = _POSTS[topic][language]
            variants[language] = ContentVariant(
                title=title, body=body, cta=cta, disclaimer=_disclaimer(advisor, language)
            )
        pack = ContentPack(
            id=ids.new_id(),
            advisor_id=advisor.id,
            topic=topic,
            type=ContentType.EDUCATIONAL,
            variants=variants,
            status=status,
            scheduled_date=date,
            created_at=now,
            author_id=f"advisor:{advisor.id}",
        )
        packs.append(reviewed(pack, reviewer_id="admin:demo", reviewed_at=now))
    return packs


# --- the fallback library -------------------------------------------------------------------

#: Who writes the demo library's packs (in the audit trail).
LIBRARY_AUTHOR_ID = "system:fallback-library"

# A shared pack goes to RIAs and MFDs alike, so it carries every standard warning. What it
# cannot carry is the sender's own identity (name, SEBI registration number or ARN).
_SHARED_DISCLAIMER = {
    language: f"{_MF_WARNING[language]} {_RIA_WARNING[language]}" for language in Language
}


@attrs.frozen(kw_only=True)
class _LibraryPost:
    topic: str
    months: frozenset[int]
    priority: int
    engagement: float
    quality: int
    age_days: int
    #: language -> (title, body, call to action)
    text: dict[Language, tuple[str, str, str]]
    expires_in_days: int | None = None


_EVERY_MONTH = frozenset(range(1, 13))

_LIBRARY: tuple[_LibraryPost, ...] = (
    _LibraryPost(
        topic="sip_discipline",
        months=_EVERY_MONTH,
        priority=70,
        engagement=0.42,
        quality=80,
        age_days=200,
        text={
            Language.EN: (
                "Stay with your SIP",
                "Markets rise and fall. A monthly SIP keeps investing through both, so you "
                "are not trying to time the market.",
                "Reply SIP to review your monthly plan.",
            ),
            Language.HI: (
                "अपनी SIP जारी रखें",
                "बाजार ऊपर-नीचे होते रहते हैं। मासिक SIP दोनों समय निवेश जारी रखती है, "
                "ताकि आपको बाजार का समय साधने की कोशिश न करनी पड़े।",
                "अपनी मासिक योजना की समीक्षा के लिए SIP लिखकर जवाब दें।",
            ),
            Language.MR: (
                "तुमची SIP सुरू ठेवा",
                "बाजार वर-खाली होत राहतो. मासिक SIP दोन्ही वेळी गुंतवणूक सुरू ठेवते, "
                "त्यामुळे बाजाराची वेळ साधण्याचा प्रयत्न करावा लागत नाही.",
                "तुमच्या मासिक योजनेच्या आढाव्यासाठी SIP असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="emergency_fund",
        months=_EVERY_MONTH,
        priority=65,
        engagement=0.38,
        quality=75,
        age_days=320,
        text={
            Language.EN: (
                "Keep a safety cushion",
                "Three to six months of expenses kept aside for emergencies means your "
                "long-term investments can stay invested when something unexpected happens.",
                "Ask me how big your cushion should be.",
            ),
            Language.HI: (
                "सुरक्षा के लिए अलग रकम",
                "तीन से छह महीने का खर्च आपात स्थिति के लिए अलग रखें, ताकि अचानक ज़रूरत "
                "पड़ने पर लंबी अवधि के निवेश बने रहें।",
                "यह रकम कितनी हो, मुझसे पूछें।",
            ),
            Language.MR: (
                "आपत्कालीन निधी ठेवा",
                "तीन ते सहा महिन्यांचा खर्च आपत्कालीन गरजांसाठी वेगळा ठेवा, म्हणजे अचानक "
                "गरज पडल्यास दीर्घकालीन गुंतवणूक टिकून राहते.",
                "हा निधी किती असावा ते मला विचारा.",
            ),
        },
    ),
    _LibraryPost(
        topic="goal_planning",
        months=_EVERY_MONTH,
        priority=60,
        engagement=0.35,
        quality=70,
        age_days=150,
        text={
            Language.EN: (
                "Give every rupee a job",
                "Link each investment to a goal with a date and an amount: a child's "
                "education, a home, retirement. Goals make it easier to stay on course.",
                "Share one goal with me and we will plan for it.",
            ),
            Language.HI: (
                "हर निवेश का एक लक्ष्य",
                "हर निवेश को तारीख और राशि वाले लक्ष्य से जोड़ें: बच्चों की पढ़ाई, घर, "
                "रिटायरमेंट। लक्ष्य होने से योजना पर टिके रहना आसान होता है।",
                "अपना एक लक्ष्य मुझसे साझा करें, हम मिलकर योजना बनाएँगे।",
            ),
            Language.MR: (
                "प्रत्येक गुंतवणुकीला उद्दिष्ट",
                "प्रत्येक गुंतवणूक तारीख आणि रक्कम असलेल्या उद्दिष्टाशी जोडा: मुलांचे "
                "शिक्षण, घर, निवृत्ती. उद्दिष्ट असले की नियोजनावर टिकून राहणे सोपे जाते.",
                "तुमचे एक उद्दिष्ट मला सांगा, आपण मिळून नियोजन करू.",
            ),
        },
    ),
    _LibraryPost(
        topic="asset_allocation",
        months=_EVERY_MONTH,
        priority=55,
        engagement=0.30,
        quality=85,
        age_days=60,
        text={
            Language.EN: (
                "Spread your money wisely",
                "A mix of equity, debt and gold, chosen for your goals and comfort with "
                "ups and downs, matters more than any single fund.",
                "Reply MIX to look at your current allocation.",
            ),
            Language.HI: (
                "पैसा समझदारी से बाँटें",
                "इक्विटी, डेट और सोने का मिश्रण, आपके लक्ष्य और उतार-चढ़ाव सहने की क्षमता "
                "के अनुसार, किसी एक फंड से ज़्यादा मायने रखता है।",
                "अपने मौजूदा बँटवारे पर बात करने के लिए MIX लिखें।",
            ),
            Language.MR: (
                "पैशांची योग्य विभागणी",
                "इक्विटी, डेट आणि सोने यांचे मिश्रण, तुमची उद्दिष्टे आणि चढ-उतार सहन "
                "करण्याची क्षमता पाहून ठरवलेले, कोणत्याही एका फंडापेक्षा जास्त महत्त्वाचे असते.",
                "तुमच्या सध्याच्या विभागणीबद्दल बोलण्यासाठी MIX असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="compounding",
        months=_EVERY_MONTH,
        priority=50,
        engagement=0.45,
        quality=65,
        age_days=400,
        text={
            Language.EN: (
                "Time in the market",
                "Earnings that are reinvested can earn in turn. The earlier you start, "
                "the more years this effect has to work.",
                "Ask me to show how time changes your plan.",
            ),
            Language.HI: (
                "समय का साथ",
                "दोबारा निवेश की गई कमाई आगे और कमा सकती है। जितनी जल्दी शुरुआत, उतने "
                "ज़्यादा साल यह असर काम करता है।",
                "समय आपकी योजना को कैसे बदलता है, यह जानने के लिए मुझसे पूछें।",
            ),
        },
    ),
    _LibraryPost(
        topic="insurance_first",
        months=_EVERY_MONTH,
        priority=45,
        engagement=0.25,
        quality=70,
        age_days=250,
        text={
            Language.EN: (
                "Protection before investment",
                "Adequate term life and health cover protects your family's plans. Keep "
                "insurance and investment as separate decisions.",
                "Reply COVER to review your protection.",
            ),
            Language.MR: (
                "गुंतवणुकीआधी संरक्षण",
                "पुरेसे टर्म विमा आणि आरोग्य विमा संरक्षण तुमच्या कुटुंबाच्या योजनांचे रक्षण "
                "करते. विमा आणि गुंतवणूक हे वेगळे निर्णय ठेवा.",
                "तुमच्या संरक्षणाच्या आढाव्यासाठी COVER असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="nominee_update",
        months=_EVERY_MONTH,
        priority=40,
        engagement=0.20,
        quality=75,
        age_days=90,
        text={
            Language.EN: (
                "Is your nominee up to date?",
                "Check that every folio, demat and bank account names a nominee. It makes "
                "things much simpler for your family.",
                "Reply NOMINEE and I will help you check.",
            ),
            Language.HI: (
                "क्या आपका नॉमिनी अपडेट है?",
                "जाँच लें कि हर फोलियो, डीमैट और बैंक खाते में नॉमिनी दर्ज है। इससे आपके "
                "परिवार के लिए काम आसान हो जाता है।",
                "जाँच में मदद के लिए NOMINEE लिखकर जवाब दें।",
            ),
            Language.MR: (
                "तुमचा नॉमिनी अद्ययावत आहे का?",
                "प्रत्येक फोलिओ, डीमॅट आणि बँक खात्यात नॉमिनी नोंदवलेला आहे का ते तपासा. "
                "त्यामुळे तुमच्या कुटुंबासाठी काम सोपे होते.",
                "तपासणीसाठी मदत हवी असल्यास NOMINEE असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="tax_planning",
        months=frozenset({1, 2, 3}),
        priority=80,
        engagement=0.50,
        quality=80,
        age_days=30,
        text={
            Language.EN: (
                "Tax planning, calmly",
                "If this year's tax-saving investments are still open, choose them for your "
                "goals and lock-in comfort, not only for the deduction.",
                "Message me to go through your options.",
            ),
            Language.HI: (
                "कर बचत, सोच-समझकर",
                "अगर इस साल के कर बचत निवेश अभी बाकी हैं, तो सिर्फ़ कटौती नहीं, अपने लक्ष्य "
                "और लॉक-इन के हिसाब से विकल्प चुनें।",
                "विकल्पों पर बात करने के लिए मुझे संदेश भेजें।",
            ),
            Language.MR: (
                "कर नियोजन, शांतपणे",
                "या वर्षीची कर बचतीची गुंतवणूक अजून बाकी असल्यास, फक्त वजावट नव्हे तर "
                "तुमची उद्दिष्टे आणि लॉक-इन पाहून पर्याय निवडा.",
                "पर्यायांवर बोलण्यासाठी मला संदेश पाठवा.",
            ),
        },
    ),
    _LibraryPost(
        topic="new_financial_year",
        months=frozenset({4}),
        priority=75,
        engagement=0.40,
        quality=70,
        age_days=120,
        text={
            Language.EN: (
                "A new financial year",
                "April is a good time to set this year's budget, restart tax-saving SIPs "
                "early and review last year's goals.",
                "Reply PLAN to set up this year's plan.",
            ),
            Language.HI: (
                "नया वित्त वर्ष",
                "अप्रैल इस साल का बजट तय करने, कर बचत वाली SIP जल्द शुरू करने और पिछले साल "
                "के लक्ष्यों की समीक्षा का अच्छा समय है।",
                "इस साल की योजना के लिए PLAN लिखकर जवाब दें।",
            ),
            Language.MR: (
                "नवीन आर्थिक वर्ष",
                "एप्रिल हा या वर्षीचे बजेट ठरवण्याचा, कर बचतीच्या SIP लवकर सुरू करण्याचा "
                "आणि मागील वर्षाच्या उद्दिष्टांचा आढावा घेण्याचा चांगला काळ आहे.",
                "या वर्षीच्या नियोजनासाठी PLAN असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="monsoon_health_cover",
        months=frozenset({6, 7, 8, 9}),
        priority=60,
        engagement=0.28,
        quality=65,
        age_days=100,
        text={
            Language.EN: (
                "Monsoon check: health cover",
                "The rainy season brings more illness. Check that your family's health "
                "cover is enough and that the policy is renewed on time.",
                "Reply HEALTH to review your cover.",
            ),
            Language.HI: (
                "मानसून में स्वास्थ्य बीमा की जाँच",
                "बारिश के मौसम में बीमारियाँ बढ़ती हैं। जाँच लें कि परिवार का स्वास्थ्य बीमा "
                "पर्याप्त है और पॉलिसी समय पर रिन्यू हुई है।",
                "अपने बीमा की समीक्षा के लिए HEALTH लिखकर जवाब दें।",
            ),
            Language.MR: (
                "पावसाळ्यात आरोग्य विम्याची तपासणी",
                "पावसाळ्यात आजारपण वाढते. कुटुंबाचा आरोग्य विमा पुरेसा आहे आणि पॉलिसी "
                "वेळेवर नूतनीकरण झाली आहे का ते तपासा.",
                "तुमच्या विम्याच्या आढाव्यासाठी HEALTH असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="diwali_greetings",
        months=frozenset({10, 11}),
        priority=90,
        engagement=0.60,
        quality=85,
        age_days=20,
        expires_in_days=730,
        text={
            Language.EN: (
                "Happy Diwali",
                "Wishing you and your family a bright and peaceful Diwali. A festive thought: "
                "a small amount set aside for a goal grows into a habit.",
                "Reply DIWALI to talk about your goals for the year ahead.",
            ),
            Language.HI: (
                "दीपावली की शुभकामनाएँ",
                "आपको और आपके परिवार को रोशन और शांतिपूर्ण दीपावली की शुभकामनाएँ। त्योहार का "
                "एक विचार: लक्ष्य के लिए अलग रखी छोटी रकम आदत बन जाती है।",
                "आने वाले साल के लक्ष्यों पर बात करने के लिए DIWALI लिखें।",
            ),
            Language.MR: (
                "दिवाळीच्या शुभेच्छा",
                "तुम्हाला आणि तुमच्या कुटुंबाला प्रकाशमय आणि आनंदी दिवाळीच्या शुभेच्छा. "
                "सणाचा एक विचार: उद्दिष्टासाठी बाजूला ठेवलेली छोटी रक्कम सवय बनते.",
                "पुढील वर्षाच्या उद्दिष्टांबद्दल बोलण्यासाठी DIWALI असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="year_end_review",
        months=frozenset({12, 1}),
        priority=70,
        engagement=0.33,
        quality=75,
        age_days=45,
        text={
            Language.EN: (
                "Year-end money review",
                "Before the new year, look back: did your savings rate, insurance and "
                "investments keep pace with your goals? Small corrections now help.",
                "Reply REVIEW to book a short review.",
            ),
            Language.HI: (
                "साल के अंत की समीक्षा",
                "नए साल से पहले पीछे देखें: क्या आपकी बचत, बीमा और निवेश आपके लक्ष्यों के "
                "साथ चले? अभी के छोटे सुधार काम आते हैं।",
                "छोटी समीक्षा के लिए REVIEW लिखकर जवाब दें।",
            ),
            Language.MR: (
                "वर्षअखेरचा आढावा",
                "नवीन वर्षापूर्वी मागे वळून पाहा: तुमची बचत, विमा आणि गुंतवणूक तुमच्या "
                "उद्दिष्टांसोबत राहिली का? आताचे छोटे बदल उपयोगी ठरतात.",
                "छोट्या आढाव्यासाठी REVIEW असे उत्तर द्या.",
            ),
        },
    ),
    _LibraryPost(
        topic="education_goal",
        months=frozenset({5, 6}),
        priority=55,
        engagement=0.31,
        quality=70,
        age_days=80,
        text={
            Language.EN: (
                "School fees season",
                "As the new school year begins, it is a good moment to estimate future "
                "education costs and plan for them separately.",
                "Ask me to estimate your child's education goal.",
            ),
            Language.HI: (
                "स्कूल फीस का मौसम",
                "नया स्कूल वर्ष शुरू होते समय आगे की पढ़ाई के खर्च का अनुमान लगाने और उसके "
                "लिए अलग योजना बनाने का अच्छा समय है।",
                "बच्चे की पढ़ाई के लक्ष्य का अनुमान लगाने के लिए मुझसे पूछें।",
            ),
        },
    ),
)


def demo_library(
    *, ids: IdGenerator, now: dt.datetime, status: ContentStatus = ContentStatus.APPROVED
) -> list[tuple[ContentPack, LibraryEntry]]:
    """The demo fallback library: shared packs (no advisor) in English, Hindi and Marathi,
    evergreen and seasonal, each with its library entry.

    Every month has packs in every language, so any advisor can get a fallback. Approved by
    default (reviewer ``compliance:demo``); ``status=ContentStatus.DRAFT`` gives drafts to take
    through the workflow (an entry's ``pack_id`` then names the draft: use the id the workflow
    gives the pack).
    """
    today = now.date()
    library = []
    for post in _LIBRARY:
        variants = {
            language: ContentVariant(
                title=title, body=body, cta=cta, disclaimer=_SHARED_DISCLAIMER[language]
            )
            for language, (title, body, cta) in post.text.items()
        }
        pack = ContentPack(
            id=ids.new_id(),
            advisor_id=None,
            topic=post.topic,
            type=ContentType.EDUCATIONAL,
            variants=variants,
            status=status,
            created_at=now,
            author_id=LIBRARY_AUTHOR_ID,
        )
        entry = LibraryEntry(
            pack_id=pack.id,
            topic=post.topic,
            applicable_months=post.months,
            expires_on=(
                None
                if post.expires_in_days is None
                else today + dt.timedelta(days=post.expires_in_days)
            ),
            priority=post.priority,
            engagement=post.engagement,
            quality=post.quality,
            created_on=today - dt.timedelta(days=post.age_days),
        )
        library.append((reviewed(pack, reviewer_id="compliance:demo", reviewed_at=now), entry))
    return library
