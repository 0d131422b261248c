"""The offline generator's text: one short post per topic family in English, Hindi and Marathi,
the tone variations, festival greetings and the mandatory disclaimers.

Every sentence here is written to pass the default rulebook for RIAs and MFDs alike (a test
checks every family × language × tone × advisor type), so when editing keep away from what the
rules look for: promises and guarantees ("guaranteed", "गारंटी", "हमी", "assured", "fixed
returns"…), "risk-free"/"no risk"/"धोका नाही", superlatives ("best", "top", "सबसे अच्छा"),
urgency ("start now", "immediately", "आज ही", "आजच"), gifts and prizes ("gift", "उपहार",
"भेंट", "बक्षीस"), percentages next to returns, stock names, links and phone numbers, and for
distributors any "adviser" wording ("advisor", "सलाहकार", "सल्लागार"). Bump
``OfflineGenerator.prompt_version`` when the text changes, so cached drafts are not reused.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from projectone.domain.advisor import AdvisorType
from projectone.domain.ai import Tone
from projectone.domain.language import Language
from projectone.domain.topics import Festival, TopicFamily

__all__ = [
    "FAMILY_TEXT",
    "FESTIVAL_TEXT",
    "FULL_STOP",
    "IDENTITY_LABEL",
    "MF_WARNING",
    "REGISTRATION_LABEL",
    "RIA_WARNING",
    "TONE_TEXT",
    "TOPIC_LINE",
    "FamilyText",
    "Occasion",
    "ToneText",
]

EN, HI, MR = Language.EN, Language.HI, Language.MR


@attrs.frozen
class FamilyText:
    """One family's post in one language. In the festival family's ``title`` and ``body``,
    ``{wish}`` and ``{occasion}`` stand for the festival's (see :class:`Occasion`)."""

    title: str
    body: str
    cta: str
    #: One more idea, added by the educational tone.
    tip: str


@attrs.frozen
class ToneText:
    """How a tone opens and closes a post in one language (``{name}``: the advisor's)."""

    opening: str
    sign_off: str
    #: Introduces the family's tip; empty when the tone leaves the tip out.
    tip_intro: str = ""


@attrs.frozen
class Occasion:
    """A festival in one language: the greeting (a title) and how the body names it."""

    wish: str
    occasion: str


#: The mutual fund risk warning (AMFI/SEBI wording and its usual translations).
MF_WARNING: Mapping[Language, str] = {
    EN: "Mutual Fund investments are subject to market risks, read all scheme related "
    "documents carefully.",
    HI: "म्यूचुअल फंड निवेश बाजार जोखिमों के अधीन हैं, योजना संबंधी सभी दस्तावेज़ ध्यान से पढ़ें।",
    MR: "म्युच्युअल फंड गुंतवणूक बाजारातील जोखमींच्या अधीन आहे, योजनेसंबंधी सर्व कागदपत्रे काळजीपूर्वक वाचा.",
}

#: The SEBI standard warning and registration disclaimer for investment advisers;
#: ``{body}`` is the supervisory body (the rulebook's ``supervisory_body``, BASL by default).
RIA_WARNING: Mapping[Language, str] = {
    EN: "Investment in securities market are subject to market risks. Read all the related "
    "documents carefully before investing. Registration granted by SEBI, membership of {body} "
    "and certification from NISM in no way guarantee performance of the intermediary or "
    "provide any assurance of returns to investors.",
    HI: "प्रतिभूति बाजार में निवेश बाजार जोखिमों के अधीन है। निवेश करने से पहले सभी संबंधित "
    "दस्तावेज़ ध्यान से पढ़ें। SEBI द्वारा दिया गया पंजीकरण, {body} की सदस्यता और NISM का प्रमाणन "
    "मध्यस्थ के प्रदर्शन की कोई गारंटी नहीं देते और निवेशकों को रिटर्न का कोई आश्वासन नहीं देते।",
    MR: "रोखे बाजारातील गुंतवणूक बाजारातील जोखमींच्या अधीन आहे. गुंतवणूक करण्यापूर्वी सर्व "
    "संबंधित कागदपत्रे काळजीपूर्वक वाचा. SEBI ने दिलेली नोंदणी, {body} चे सदस्यत्व आणि NISM चे "
    "प्रमाणपत्र मध्यस्थाच्या कामगिरीची हमी देत नाहीत किंवा गुंतवणूकदारांना परताव्याचे कोणतेही "
    "आश्वासन देत नाहीत.",
}

#: How the sender is described next to their name and registration number.
IDENTITY_LABEL: Mapping[AdvisorType, Mapping[Language, str]] = {
    AdvisorType.MFD: {
        EN: "AMFI-registered Mutual Fund Distributor",
        HI: "AMFI-पंजीकृत म्यूचुअल फंड वितरक",
        MR: "AMFI-नोंदणीकृत म्युच्युअल फंड वितरक",
    },
    AdvisorType.RIA: {
        EN: "SEBI-registered Investment Adviser",
        HI: "SEBI-पंजीकृत निवेश सलाहकार",
        MR: "SEBI-नोंदणीकृत गुंतवणूक सल्लागार",
    },
}

#: What precedes the registration number (an ARN names itself: "ARN-123456").
REGISTRATION_LABEL: Mapping[AdvisorType, Mapping[Language, str]] = {
    AdvisorType.MFD: {EN: "", HI: "", MR: ""},
    AdvisorType.RIA: {EN: "SEBI Reg. No. ", HI: "SEBI पंजीकरण संख्या ", MR: "SEBI नोंदणी क्रमांक "},
}

FULL_STOP: Mapping[Language, str] = {EN: ".", HI: "।", MR: "."}

#: The line that names the requested topic, when it is safe to repeat (see OfflineGenerator).
TOPIC_LINE: Mapping[Language, str] = {
    EN: "Topic: {topic}",
    HI: "विषय: {topic}",
    MR: "विषय: {topic}",
}

TONE_TEXT: Mapping[Tone, Mapping[Language, ToneText]] = {
    Tone.PROFESSIONAL: {
        EN: ToneText(opening="Dear investor,", sign_off="Regards,\n{name}"),
        HI: ToneText(opening="प्रिय निवेशक,", sign_off="सादर,\n{name}"),
        MR: ToneText(opening="प्रिय गुंतवणूकदार,", sign_off="धन्यवाद,\n{name}"),
    },
    Tone.FRIENDLY: {
        EN: ToneText(
            opening="Hello! A quick thought to share with you.",
            sign_off="Warm wishes,\n{name}",
        ),
        HI: ToneText(opening="नमस्ते! आपके लिए एक छोटी-सी बात।", sign_off="शुभकामनाओं सहित,\n{name}"),
        MR: ToneText(opening="नमस्कार! तुमच्यासाठी एक छोटीशी गोष्ट.", sign_off="शुभेच्छांसह,\n{name}"),
    },
    Tone.EDUCATIONAL: {
        EN: ToneText(
            opening="Today's money lesson:",
            sign_off="Keep learning!\n{name}",
            tip_intro="Key idea:",
        ),
        HI: ToneText(
            opening="आज की वित्तीय सीख:", sign_off="सीखते रहिए!\n{name}", tip_intro="मुख्य बात:"
        ),
        MR: ToneText(
            opening="आजचा आर्थिक धडा:", sign_off="शिकत राहा!\n{name}", tip_intro="मुख्य मुद्दा:"
        ),
    },
    Tone.FESTIVE: {
        EN: ToneText(
            opening="Warm festive wishes to you and your family!",
            sign_off="With festive greetings,\n{name}",
        ),
        HI: ToneText(
            opening="आपको और आपके परिवार को त्योहारों की हार्दिक शुभकामनाएँ!",
            sign_off="शुभकामनाओं सहित,\n{name}",
        ),
        MR: ToneText(
            opening="तुम्हाला आणि तुमच्या कुटुंबाला सणासुदीच्या हार्दिक शुभेच्छा!",
            sign_off="शुभेच्छांसह,\n{name}",
        ),
    },
}

# ``None``: no festival named, the season in general.
FESTIVAL_TEXT: Mapping[Festival | None, Mapping[Language, Occasion]] = {
    None: {
        EN: Occasion("Festive greetings!", "festive season"),
        HI: Occasion("त्योहारों की हार्दिक शुभकामनाएँ", "यह त्योहारों का मौसम"),
        MR: Occasion("सणासुदीच्या हार्दिक शुभेच्छा", "हा सणासुदीचा काळ"),
    },
    Festival.MAKAR_SANKRANTI: {
        EN: Occasion("Happy Makar Sankranti!", "Makar Sankranti"),
        HI: Occasion("मकर संक्रांति की हार्दिक शुभकामनाएँ", "यह मकर संक्रांति"),
        MR: Occasion("मकर संक्रांतीच्या हार्दिक शुभेच्छा", "ही मकर संक्रांत"),
    },
    Festival.REPUBLIC_DAY: {
        EN: Occasion("Happy Republic Day!", "Republic Day"),
        HI: Occasion("गणतंत्र दिवस की हार्दिक शुभकामनाएँ", "यह गणतंत्र दिवस"),
        MR: Occasion("प्रजासत्ताक दिनाच्या हार्दिक शुभेच्छा", "हा प्रजासत्ताक दिन"),
    },
    Festival.HOLI: {
        EN: Occasion("Happy Holi!", "Holi"),
        HI: Occasion("होली की हार्दिक शुभकामनाएँ", "यह होली"),
        MR: Occasion("होळीच्या हार्दिक शुभेच्छा", "ही होळी"),
    },
    Festival.GUDI_PADWA: {
        EN: Occasion("Happy Gudi Padwa!", "Gudi Padwa"),
        HI: Occasion("गुड़ी पड़वा की हार्दिक शुभकामनाएँ", "यह गुड़ी पड़वा"),
        MR: Occasion("गुढीपाडव्याच्या हार्दिक शुभेच्छा", "हा गुढीपाडवा"),
    },
    Festival.INDEPENDENCE_DAY: {
        EN: Occasion("Happy Independence Day!", "Independence Day"),
        HI: Occasion("स्वतंत्रता दिवस की हार्दिक शुभकामनाएँ", "यह स्वतंत्रता दिवस"),
        MR: Occasion("स्वातंत्र्य दिनाच्या हार्दिक शुभेच्छा", "हा स्वातंत्र्य दिन"),
    },
    Festival.GANESH_CHATURTHI: {
        EN: Occasion("Happy Ganesh Chaturthi!", "Ganesh Chaturthi"),
        HI: Occasion("गणेश चतुर्थी की हार्दिक शुभकामनाएँ", "यह गणेश चतुर्थी"),
        MR: Occasion("गणेशोत्सवाच्या हार्दिक शुभेच्छा", "हा गणेशोत्सव"),
    },
    Festival.DUSSEHRA: {
        EN: Occasion("Happy Dussehra!", "Dussehra"),
        HI: Occasion("दशहरे की हार्दिक शुभकामनाएँ", "यह दशहरा"),
        MR: Occasion("दसऱ्याच्या हार्दिक शुभेच्छा", "हा दसरा"),
    },
    Festival.DIWALI: {
        EN: Occasion("Happy Diwali!", "Diwali"),
        HI: Occasion("दीपावली की हार्दिक शुभकामनाएँ", "यह दीपावली"),
        MR: Occasion("दिवाळीच्या हार्दिक शुभेच्छा", "ही दिवाळी"),
    },
}

FAMILY_TEXT: Mapping[TopicFamily, Mapping[Language, FamilyText]] = {
    TopicFamily.SIP_EDUCATION: {
        EN: FamilyText(
            title="Small steps, steady habit",
            body="A Systematic Investment Plan (SIP) puts a set amount into a mutual fund "
            "scheme every month. You buy more units when prices are low and fewer when they "
            "are high, which evens out your cost over time. What matters most is staying "
            "regular through the ups and downs.",
            cta="Reply SIP to review your monthly plan with me.",
            tip="Rupee cost averaging softens the effect of timing; it does not remove "
            "market risk.",
        ),
        HI: FamilyText(
            title="छोटे कदम, नियमित आदत",
            body="सिस्टेमैटिक इन्वेस्टमेंट प्लान (SIP) में हर महीने एक तय राशि म्यूचुअल फंड "
            "योजना में लगाई जाती है। कीमतें कम हों तो ज़्यादा यूनिट और ज़्यादा हों तो कम यूनिट "
            "मिलती हैं, जिससे समय के साथ औसत लागत संतुलित रहती है। असली बात है उतार-चढ़ाव में "
            "भी नियमित बने रहना।",
            cta="अपनी मासिक योजना की समीक्षा के लिए SIP लिखकर जवाब दें।",
            tip="रुपी कॉस्ट एवरेजिंग समय के असर को कम करती है, पर बाज़ार का जोखिम बना रहता है।",
        ),
        MR: FamilyText(
            title="छोटी पावले, नियमित सवय",
            body="सिस्टिमॅटिक इन्व्हेस्टमेंट प्लॅन (SIP) मध्ये दर महिन्याला ठरलेली रक्कम "
            "म्युच्युअल फंड योजनेत गुंतवली जाते. किंमत कमी असताना जास्त युनिट्स आणि जास्त "
            "असताना कमी युनिट्स मिळतात, त्यामुळे कालांतराने सरासरी खर्च संतुलित राहतो. "
            "चढ-उतारातही नियमित राहणे हीच खरी गुरुकिल्ली आहे.",
            cta="तुमच्या मासिक योजनेच्या आढाव्यासाठी SIP असे उत्तर द्या.",
            tip="रुपी कॉस्ट ॲव्हरेजिंगमुळे वेळेचा परिणाम कमी होतो, पण बाजारातील जोखीम कायम राहते.",
        ),
    },
    TopicFamily.MARKET_UPDATE: {
        EN: FamilyText(
            title="Markets move, plans stay",
            body="Markets go up and down every day, and short-term moves make headlines. For "
            "long-term goals, what counts is your asset mix and staying invested as planned, "
            "not reacting to every swing. If your goals have not changed, your plan may not "
            "need to change either.",
            cta="Reply PLAN if you would like to go over your portfolio with me.",
            tip="Ups and downs are normal for equity; your time horizon decides how much of "
            "them you can sit through.",
        ),
        HI: FamilyText(
            title="बाज़ार बदलता है, योजना नहीं",
            body="बाज़ार हर दिन ऊपर-नीचे होता है और छोटी अवधि की हलचल सुर्ख़ियाँ बनती है। लंबी "
            "अवधि के लक्ष्यों के लिए असली बात है आपका एसेट मिक्स और योजना के अनुसार निवेश बनाए "
            "रखना, न कि हर उतार-चढ़ाव पर प्रतिक्रिया देना। अगर आपके लक्ष्य नहीं बदले, तो शायद "
            "योजना बदलने की ज़रूरत भी नहीं है।",
            cta="अपने पोर्टफोलियो पर बात करने के लिए PLAN लिखकर जवाब दें।",
            tip="इक्विटी में उतार-चढ़ाव सामान्य है; आपकी निवेश अवधि तय करती है कि आप उसे कितना सह सकते हैं।",
        ),
        MR: FamilyText(
            title="बाजार बदलतो, योजना तीच",
            body="बाजार रोज वर-खाली होतो आणि अल्पकालीन हालचालींच्या बातम्या होतात. दीर्घकालीन "
            "उद्दिष्टांसाठी महत्त्वाचे आहे तुमचे मालमत्ता मिश्रण आणि ठरलेल्या योजनेनुसार "
            "गुंतवणूक टिकवून ठेवणे, प्रत्येक चढ-उतारावर प्रतिक्रिया देणे नव्हे. तुमची "
            "उद्दिष्टे बदलली नसतील, तर कदाचित योजनाही बदलण्याची गरज नसते.",
            cta="तुमच्या पोर्टफोलिओबद्दल बोलण्यासाठी PLAN असे उत्तर द्या.",
            tip="इक्विटीमध्ये चढ-उतार सामान्य असतात; तुमचा गुंतवणूक कालावधी ठरवतो की तुम्ही "
            "ते किती सहन करू शकता.",
        ),
    },
    TopicFamily.TAX_SAVING: {
        EN: FamilyText(
            title="Plan tax saving early",
            body="Tax-saving investments are easier on your budget when spread across the year "
            "than squeezed into March. Under the old tax regime, options such as ELSS funds, "
            "PPF and life insurance premiums count towards the Section 80C deduction, each "
            "with its own lock-in and risk. Choose what fits your goals, not only the "
            "deduction.",
            cta="Message me to plan this year's tax-saving investments.",
            tip="ELSS funds have a three-year lock-in and are market-linked; PPF runs for "
            "fifteen years.",
        ),
        HI: FamilyText(
            title="कर बचत की योजना जल्दी बनाएँ",
            body="कर बचत वाले निवेश को पूरे साल में बाँटना मार्च की भागदौड़ से आसान है। पुरानी "
            "कर व्यवस्था में ELSS फंड, PPF और जीवन बीमा प्रीमियम जैसे विकल्प धारा 80C की कटौती "
            "में गिने जाते हैं, और हर एक का अपना लॉक-इन और जोखिम है। सिर्फ़ कटौती नहीं, अपने "
            "लक्ष्यों के हिसाब से विकल्प चुनें।",
            cta="इस साल के कर बचत निवेश की योजना के लिए मुझे संदेश भेजें।",
            tip="ELSS फंड में तीन साल का लॉक-इन होता है और वे बाज़ार से जुड़े होते हैं; PPF की अवधि पंद्रह साल है।",
        ),
        MR: FamilyText(
            title="कर बचतीचे नियोजन लवकर करा",
            body="कर बचतीची गुंतवणूक वर्षभर विभागून केल्यास मार्चमधील धावपळीपेक्षा बजेटवर कमी "
            "ताण येतो. जुन्या कर प्रणालीत ELSS फंड, PPF आणि जीवन विमा हप्ते यांसारखे पर्याय "
            "कलम 80C च्या वजावटीत धरले जातात, आणि प्रत्येकाचा स्वतःचा लॉक-इन आणि जोखीम असते. "
            "फक्त वजावट नव्हे, तर तुमच्या उद्दिष्टांनुसार पर्याय निवडा.",
            cta="या वर्षीच्या कर बचत गुंतवणुकीच्या नियोजनासाठी मला संदेश पाठवा.",
            tip="ELSS फंडांना तीन वर्षांचा लॉक-इन असतो आणि ते बाजाराशी निगडित असतात; PPF ची "
            "मुदत पंधरा वर्षांची आहे.",
        ),
    },
    TopicFamily.GOAL_PLANNING: {
        EN: FamilyText(
            title="Name your goals",
            body="A goal with a date and an amount is easier to plan for than 'saving more'. "
            "Write down what matters to you: a child's education, a home, a comfortable "
            "retirement. Then match each goal with an investment horizon and review your "
            "progress once a year.",
            cta="Share one goal with me and we will map it together.",
            tip="Goals that are far away can usually carry more equity than goals a year or "
            "two away.",
        ),
        HI: FamilyText(
            title="अपने लक्ष्यों को नाम दें",
            body="तारीख और राशि वाला लक्ष्य 'ज़्यादा बचत' से कहीं आसानी से योजना में बदलता है। जो "
            "आपके लिए मायने रखता है, उसे लिखें: बच्चों की पढ़ाई, अपना घर, आरामदायक रिटायरमेंट। "
            "फिर हर लक्ष्य को उसकी अवधि के हिसाब से निवेश से जोड़ें और साल में एक बार प्रगति "
            "देखें।",
            cta="अपना एक लक्ष्य मुझसे साझा करें, हम मिलकर योजना बनाएँगे।",
            tip="दूर के लक्ष्यों में आमतौर पर इक्विटी का हिस्सा ज़्यादा रखा जा सकता है, और एक-दो "
            "साल दूर के लक्ष्यों में कम।",
        ),
        MR: FamilyText(
            title="तुमच्या उद्दिष्टांना नाव द्या",
            body="तारीख आणि रक्कम असलेले उद्दिष्ट 'जास्त बचत' पेक्षा नियोजनासाठी सोपे असते. "
            "तुमच्यासाठी जे महत्त्वाचे आहे ते लिहून ठेवा: मुलांचे शिक्षण, स्वतःचे घर, निवांत "
            "निवृत्ती. मग प्रत्येक उद्दिष्टाला त्याच्या कालावधीनुसार गुंतवणूक जोडा आणि "
            "वर्षातून एकदा प्रगतीचा आढावा घ्या.",
            cta="तुमचे एक उद्दिष्ट मला सांगा, आपण मिळून नियोजन करू.",
            tip="दूरच्या उद्दिष्टांसाठी सहसा इक्विटीचा वाटा जास्त ठेवता येतो, तर एक-दोन "
            "वर्षांवरच्या उद्दिष्टांसाठी कमी.",
        ),
    },
    TopicFamily.FESTIVAL_GREETING: {
        EN: FamilyText(
            title="{wish}",
            body="May this {occasion} bring joy, good health and peace to your home. As you "
            "celebrate with your family, take a moment to talk about the goals you are "
            "saving for together.",
            cta="Reply if you would like to plan your next goal with me.",
            tip="Festive spending is part of the joy; a simple budget keeps it from eating "
            "into your goals.",
        ),
        HI: FamilyText(
            title="{wish}",
            body="{occasion} आपके घर में खुशियाँ, अच्छी सेहत और सुकून लाए। परिवार के साथ जश्न "
            "मनाते हुए कुछ पल उन लक्ष्यों पर भी बात करें जिनके लिए आप मिलकर बचत कर रहे हैं।",
            cta="अगला लक्ष्य मिलकर तय करना हो तो मुझे जवाब दें।",
            tip="त्योहारों पर खर्च खुशी का हिस्सा है; एक सरल बजट उसे आपके लक्ष्यों पर भारी नहीं पड़ने देता।",
        ),
        MR: FamilyText(
            title="{wish}",
            body="{occasion} तुमच्या घरी आनंद, आरोग्य आणि समाधान घेऊन येवो. कुटुंबासोबत सण "
            "साजरा करताना, तुम्ही मिळून ज्या उद्दिष्टांसाठी बचत करत आहात त्यांच्याविषयीही थोडा "
            "वेळ बोला.",
            cta="पुढचे उद्दिष्ट मिळून ठरवायचे असल्यास मला उत्तर द्या.",
            tip="सणासुदीचा खर्च आनंदाचाच भाग आहे; साधे बजेट त्याला तुमच्या उद्दिष्टांवर भारी पडू देत नाही.",
        ),
    },
    TopicFamily.RETIREMENT_PLANNING: {
        EN: FamilyText(
            title="Plan for the years after work",
            body="Retirement can last twenty-five years or more, and rising prices reduce what "
            "your savings buy each year. Starting early gives your money more time to grow, "
            "and a plan that moves gradually from growth to stability can help your income "
            "last.",
            cta="Reply RETIRE to estimate your retirement corpus with me.",
            tip="Inflation is the quiet risk in retirement: what costs a thousand rupees today "
            "may cost far more twenty years from now.",
        ),
        HI: FamilyText(
            title="काम के बाद के सालों की योजना",
            body="रिटायरमेंट पच्चीस साल या उससे भी लंबा हो सकता है, और बढ़ती महँगाई हर साल "
            "आपकी बचत की क्रय-शक्ति घटाती है। जल्दी शुरुआत करने से आपके पैसे को बढ़ने के लिए "
            "ज़्यादा समय मिलता है, और धीरे-धीरे बढ़त से स्थिरता की ओर जाने वाली योजना आपकी आय "
            "को लंबे समय तक चलाने में मदद कर सकती है।",
            cta="अपने रिटायरमेंट फंड का अनुमान लगाने के लिए RETIRE लिखकर जवाब दें।",
            tip="रिटायरमेंट में महँगाई चुपचाप असर करने वाला जोखिम है: आज जो हज़ार रुपये का है, "
            "वह बीस साल बाद कहीं ज़्यादा का हो सकता है।",
        ),
        MR: FamilyText(
            title="निवृत्तीनंतरच्या वर्षांचे नियोजन",
            body="निवृत्तीचा काळ पंचवीस वर्षे किंवा त्याहून जास्त असू शकतो, आणि वाढती महागाई "
            "दरवर्षी तुमच्या बचतीची क्रयशक्ती कमी करते. लवकर सुरुवात केल्यास तुमच्या पैशाला "
            "वाढण्यासाठी जास्त वेळ मिळतो, आणि वाढीकडून स्थिरतेकडे हळूहळू जाणारी योजना तुमचे "
            "उत्पन्न दीर्घकाळ टिकवण्यास मदत करू शकते.",
            cta="तुमच्या निवृत्ती निधीचा अंदाज घेण्यासाठी RETIRE असे उत्तर द्या.",
            tip="निवृत्तीत महागाई ही शांतपणे परिणाम करणारी जोखीम आहे: आज हजार रुपयांची वस्तू "
            "वीस वर्षांनंतर कितीतरी महाग असू शकते.",
        ),
    },
    TopicFamily.EMERGENCY_FUND: {
        EN: FamilyText(
            title="Your first financial goal",
            body="Before investing for growth, keep three to six months of expenses in an "
            "emergency fund you can reach quickly. It helps you handle a job change, a medical "
            "bill or a repair without selling long-term investments at the wrong time.",
            cta="Ask me how much your emergency fund should be.",
            tip="Keep the emergency fund apart from your goal money, in options you can draw "
            "on within a day or two.",
        ),
        HI: FamilyText(
            title="आपका पहला वित्तीय लक्ष्य",
            body="बढ़त के लिए निवेश से पहले तीन से छह महीने के खर्च जितना आपातकालीन फंड रखें, "
            "जिसे ज़रूरत पड़ने पर जल्दी निकाला जा सके। इससे नौकरी में बदलाव, इलाज का खर्च या "
            "मरम्मत जैसी स्थितियों में लंबी अवधि के निवेश गलत समय पर बेचने नहीं पड़ते।",
            cta="आपका आपातकालीन फंड कितना हो, यह जानने के लिए मुझसे पूछें।",
            tip="आपातकालीन फंड को लक्ष्यों के पैसों से अलग रखें, ऐसे विकल्पों में जिनसे एक-दो "
            "दिन में पैसा निकाला जा सके।",
        ),
        MR: FamilyText(
            title="तुमचे पहिले आर्थिक उद्दिष्ट",
            body="वाढीसाठी गुंतवणूक करण्यापूर्वी तीन ते सहा महिन्यांच्या खर्चाइतका आपत्कालीन "
            "निधी सहज उपलब्ध ठेवा. त्यामुळे नोकरीतील बदल, वैद्यकीय खर्च किंवा दुरुस्ती अशा "
            "वेळी दीर्घकालीन गुंतवणूक चुकीच्या वेळी विकावी लागत नाही.",
            cta="तुमचा आपत्कालीन निधी किती असावा हे मला विचारा.",
            tip="आपत्कालीन निधी उद्दिष्टांच्या पैशांपासून वेगळा ठेवा, एक-दोन दिवसांत काढता "
            "येतील अशा पर्यायांमध्ये.",
        ),
    },
    TopicFamily.INSURANCE_BASICS: {
        EN: FamilyText(
            title="Protect first, then invest",
            body="Insurance and investment do different jobs. A term insurance plan replaces "
            "income for your family if something happens to you, and health insurance covers "
            "large medical bills. Getting these in place first lets your investments stay "
            "focused on your goals.",
            cta="Reply COVER to check whether your family's cover is enough.",
            tip="Choose life cover based on your income and loans, and look at it again when "
            "your responsibilities change.",
        ),
        HI: FamilyText(
            title="पहले सुरक्षा, फिर निवेश",
            body="बीमा और निवेश अलग-अलग काम करते हैं। टर्म बीमा आपके साथ कुछ होने पर परिवार की "
            "आय की भरपाई करता है, और स्वास्थ्य बीमा इलाज के बड़े खर्च संभालता है। ये पहले तय "
            "कर लेने से आपके निवेश अपने लक्ष्यों पर टिके रह सकते हैं।",
            cta="परिवार का बीमा कवर पर्याप्त है या नहीं, यह जाँचने के लिए COVER लिखकर जवाब दें।",
            tip="जीवन बीमा कवर अपनी आय और कर्ज़ के हिसाब से चुनें, और ज़िम्मेदारियाँ बदलने पर उसे फिर से देखें।",
        ),
        MR: FamilyText(
            title="आधी सुरक्षा, मग गुंतवणूक",
            body="विमा आणि गुंतवणूक यांची कामे वेगळी आहेत. तुमच्या बाबतीत काही बरेवाईट झाल्यास "
            "टर्म विमा कुटुंबाच्या उत्पन्नाची भरपाई करतो, आणि आरोग्य विमा मोठ्या वैद्यकीय "
            "खर्चाचा भार उचलतो. हे आधी ठरवल्यास तुमची गुंतवणूक तुमच्या उद्दिष्टांवर केंद्रित "
            "राहू शकते.",
            cta="कुटुंबाचे विमा कवच पुरेसे आहे का हे तपासण्यासाठी COVER असे उत्तर द्या.",
            tip="जीवन विम्याचे कवच तुमचे उत्पन्न आणि कर्जे पाहून निवडा, आणि जबाबदाऱ्या "
            "बदलल्यावर त्याचा पुन्हा आढावा घ्या.",
        ),
    },
    TopicFamily.DIVERSIFICATION: {
        EN: FamilyText(
            title="Spread your investments wisely",
            body="Assets such as equity, debt and gold tend to behave differently at different "
            "times. Spreading money across them, and across fund styles within each, can "
            "soften the effect of any single fall. Your mix should reflect your goals, your "
            "time horizon and how much ups and downs you are comfortable with.",
            cta="Reply MIX to go over your asset allocation with me.",
            tip="Rebalancing once a year brings your mix back to plan when one asset has grown "
            "faster than the others.",
        ),
        HI: FamilyText(
            title="निवेश को समझदारी से बाँटें",
            body="इक्विटी, डेट और सोना जैसी संपत्तियाँ अलग-अलग समय पर अलग तरह से चलती हैं। पैसे "
            "को इनमें, और हर एक के भीतर अलग-अलग तरह के फंड में बाँटने से किसी एक गिरावट का असर "
            "कम हो सकता है। आपका मिश्रण आपके लक्ष्यों, निवेश अवधि और उतार-चढ़ाव सहने की क्षमता "
            "के अनुसार होना चाहिए।",
            cta="अपने एसेट एलोकेशन पर बात करने के लिए MIX लिखकर जवाब दें।",
            tip="साल में एक बार रीबैलेंसिंग करने से, किसी एक संपत्ति के तेज़ी से बढ़ने पर भी "
            "आपका मिश्रण योजना के अनुसार लौट आता है।",
        ),
        MR: FamilyText(
            title="गुंतवणूक समजूतदारपणे विभागा",
            body="इक्विटी, डेट आणि सोने यांसारख्या मालमत्ता वेगवेगळ्या वेळी वेगवेगळ्या प्रकारे "
            "वागतात. पैसे त्यांच्यात, आणि प्रत्येकातील वेगवेगळ्या प्रकारच्या फंडांमध्ये "
            "विभागल्यास एखाद्या घसरणीचा परिणाम कमी होऊ शकतो. तुमचे मिश्रण तुमची उद्दिष्टे, "
            "गुंतवणूक कालावधी आणि चढ-उतार सहन करण्याची क्षमता यांनुसार असावे.",
            cta="तुमच्या मालमत्ता वाटपाबद्दल बोलण्यासाठी MIX असे उत्तर द्या.",
            tip="वर्षातून एकदा रीबॅलन्सिंग केल्याने, एखादी मालमत्ता जास्त वेगाने वाढली तरी "
            "तुमचे मिश्रण पुन्हा योजनेनुसार येते.",
        ),
    },
    TopicFamily.BUDGET_DAY: {
        EN: FamilyText(
            title="Budget day: read past the headlines",
            body="The Union Budget can change tax slabs, deductions and rules that affect your "
            "savings. Headlines on budget day are often dramatic; the details usually matter "
            "more for your plan. Once the announcements are clear, it is worth checking what "
            "changes, if anything, for your taxes and goals.",
            cta="Reply BUDGET and I will share what the announcements mean for you.",
            tip="Changes announced in the Budget usually apply from a stated date, often the "
            "next financial year, so there is time to plan.",
        ),
        HI: FamilyText(
            title="बजट: सुर्ख़ियों से आगे पढ़ें",
            body="केंद्रीय बजट टैक्स स्लैब, कटौतियों और आपकी बचत पर असर डालने वाले नियमों को "
            "बदल सकता है। बजट के दिन सुर्ख़ियाँ अक्सर नाटकीय होती हैं; आपकी योजना के लिए "
            "आमतौर पर बारीकियाँ ज़्यादा मायने रखती हैं। घोषणाएँ साफ़ होने के बाद यह देखना "
            "उपयोगी है कि आपके टैक्स और लक्ष्यों के लिए क्या बदलता है।",
            cta="बजट का आप पर क्या असर है, यह जानने के लिए BUDGET लिखकर जवाब दें।",
            tip="बजट में घोषित बदलाव आमतौर पर एक तय तारीख से लागू होते हैं, अक्सर अगले वित्त "
            "वर्ष से, इसलिए योजना बनाने का समय रहता है।",
        ),
        MR: FamilyText(
            title="अर्थसंकल्प: मथळ्यांच्या पलीकडे वाचा",
            body="केंद्रीय अर्थसंकल्प कर टप्पे, वजावटी आणि तुमच्या बचतीवर परिणाम करणारे नियम "
            "बदलू शकतो. अर्थसंकल्पाच्या दिवशी मथळे अनेकदा नाट्यमय असतात; तुमच्या नियोजनासाठी "
            "सहसा तपशील जास्त महत्त्वाचे असतात. घोषणा स्पष्ट झाल्यावर, तुमच्या कर आणि "
            "उद्दिष्टांसाठी काय बदलते ते तपासणे उपयुक्त ठरते.",
            cta="अर्थसंकल्पाचा तुमच्यावर काय परिणाम होतो हे जाणून घेण्यासाठी BUDGET असे उत्तर द्या.",
            tip="अर्थसंकल्पातील बदल सहसा ठरावीक तारखेपासून, बहुधा पुढील आर्थिक वर्षापासून लागू "
            "होतात, त्यामुळे नियोजनासाठी वेळ मिळतो.",
        ),
    },
}
