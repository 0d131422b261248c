"""Deterministic demo data: advisors across types, tiers and languages, and approved packs.

Used by ``projectone seed`` and ``projectone demo``, and handy in embedders' tests. The same
``seed`` always yields the same people and posts; ids and time come from the caller.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from projectone.domain.advisor import Advisor, AdvisorStatus, AdvisorType, Tier
from projectone.domain.content import ContentPack, ContentStatus, ContentType, ContentVariant
from projectone.domain.language import Language
from projectone.ports.clock import IdGenerator
from projectone.testing.builders import reviewed

__all__ = ["demo_advisors", "demo_packs"]

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
