"""Fixed multilingual texts for models/classifier/reference_scores.jsonl (written by the pipeline
author for this purpose; the compound ads are illustrative composites, not real posts)."""

REFERENCE_TEXTS = [
    # ---- en
    ("en-ad-1", "en", "compound_ad",
     "URGENT HIRING!! Customer service / typing job in Sihanoukville, Cambodia. Salary $1,200-$2,500/month + "
     "commission. Free flight ticket, free food and dormitory, visa handled by company. No experience needed, only "
     "basic English and computer skills. Age 18-35. DM on Telegram @easyjob_asia now, limited slots!"),
    ("en-honest-1", "en", "honest_ad",
     "Marriott Phnom Penh is hiring a Front Office Supervisor. Minimum 2 years hotel experience, fluent Khmer and "
     "English. Competitive salary, NSSF, annual leave. Apply through our careers portal or email your CV to the HR "
     "department. Only shortlisted candidates will be contacted."),
    ("en-awareness-1", "en", "awareness",
     "WARNING: Fake job offers promising high salaries for 'customer service' work in Cambodia and Myanmar are being "
     "used to traffic people into scam compounds. Victims have their passports confiscated and are forced to run "
     "online fraud. Never accept a job abroad that is arranged only through Telegram."),
    # ---- zh
    ("zh-ad-1", "zh", "compound_ad",
     "高薪急聘！柬埔寨西港公司招聘客服、打字员，月薪8000-15000元+提成，包吃包住，报销机票，公司办理签证，无需经验，"
     "会电脑打字即可。18-35岁，有意者请加飞机（Telegram）@xg_hr888 咨询。"),
    ("zh-honest-1", "zh", "honest_ad",
     "上海某软件公司招聘Java开发工程师，本科及以上学历，3年以上工作经验，薪资15k-25k，五险一金，周末双休。"
     "请将简历投递至公司官网招聘页面。"),
    ("zh-awareness-1", "zh", "awareness",
     "警方提醒：近期有不法分子以“海外高薪招聘”为诱饵，诱骗求职者前往缅甸、柬埔寨等地从事电信诈骗。"
     "切勿轻信网上所谓“轻松月入过万”的境外工作。"),
    # ---- th
    ("th-ad-1", "th", "compound_ad",
     "ด่วน! รับสมัครพนักงานแอดมินออนไลน์ ทำงานที่ปอยเปต กัมพูชา เงินเดือน 35,000-50,000 บาท มีที่พักและอาหารฟรี "
     "บริษัทออกค่าตั๋วเครื่องบินและทำวีซ่าให้ ไม่ต้องมีประสบการณ์ พิมพ์คอมได้ก็พอ สนใจทักไลน์ @jobasia99"),
    ("th-honest-1", "th", "honest_ad",
     "บริษัท ปูนซิเมนต์ไทย จำกัด (มหาชน) รับสมัครวิศวกรไฟฟ้า ประจำโรงงานสระบุรี วุฒิปริญญาตรีวิศวกรรมไฟฟ้า "
     "มีประสบการณ์ 2 ปีขึ้นไป สมัครผ่านเว็บไซต์บริษัท"),
    # ---- vi
    ("vi-ad-1", "vi", "compound_ad",
     "Tuyển gấp nhân viên CSKH làm việc tại Campuchia, lương 1.000-2.000 USD/tháng, bao ăn ở, công ty lo vé máy bay "
     "và visa. Không cần kinh nghiệm, chỉ cần biết đánh máy. Liên hệ Telegram @tuyendung_cpc để được phỏng vấn ngay."),
    ("vi-honest-1", "vi", "honest_ad",
     "Ngân hàng Vietcombank chi nhánh Đà Nẵng tuyển dụng giao dịch viên. Yêu cầu tốt nghiệp đại học chuyên ngành tài "
     "chính, ngân hàng. Hồ sơ nộp trực tuyến qua cổng tuyển dụng của ngân hàng."),
    # ---- id
    ("id-ad-1", "id", "compound_ad",
     "Lowongan kerja ke Kamboja! Posisi admin/CS online, gaji 15-25 juta per bulan, mess dan makan gratis, tiket "
     "pesawat dan visa ditanggung perusahaan. Tanpa pengalaman, yang penting bisa mengetik. Hubungi WA atau Telegram "
     "sekarang, kuota terbatas!"),
    ("id-honest-1", "id", "honest_ad",
     "PT Astra International membuka lowongan Management Trainee untuk lulusan S1 semua jurusan, IPK minimal 3,00. "
     "Pendaftaran melalui situs karier resmi Astra. Astra tidak pernah memungut biaya apa pun dalam proses rekrutmen."),
    # ---- ms
    ("ms-ad-1", "ms", "compound_ad",
     "Kerja kosong di Myanmar & Kemboja! Jawatan khidmat pelanggan, gaji RM6,000-RM10,000 sebulan, tempat tinggal dan "
     "makan percuma, tiket kapal terbang ditanggung. Tiada pengalaman diperlukan. PM Telegram segera, tempat terhad!"),
    ("ms-honest-1", "ms", "honest_ad",
     "Hospital Pakar KPJ Johor memerlukan Jururawat Berdaftar. Calon mesti mempunyai Diploma Kejururawatan dan sijil "
     "amalan yang sah. Permohonan melalui portal kerjaya KPJ."),
    # ---- tl
    ("tl-ad-1", "tl", "compound_ad",
     "HIRING! Customer service representative sa Cambodia, sahod ₱60,000-₱90,000 kada buwan, libre ang tirahan at "
     "pagkain, sagot ng kumpanya ang ticket at visa. Kahit walang experience, basta marunong mag-type. Message lang sa "
     "Telegram, tourist visa lang ang kailangan!"),
    ("tl-honest-1", "tl", "honest_ad",
     "Jollibee Foods Corporation is hiring Store Managers in Metro Manila. Kailangan ng college degree at 2 taon na "
     "karanasan sa food service. Mag-apply sa aming official careers website."),
    # ---- my
    ("my-ad-1", "my", "compound_ad",
     "ကမ္ဘောဒီးယားနိုင်ငံတွင် ကွန်ပျူတာ စာရိုက်ဝန်ထမ်း အမြန်ခေါ်နေပါသည်။ လစာ ဒေါ်လာ ၁၂၀၀ မှ ၂၀၀၀ အထိ၊ "
     "နေစရာ စားစရာ အခမဲ့၊ လေယာဉ်လက်မှတ်နှင့် ဗီဇာ ကုမ္ပဏီက စီစဉ်ပေးမည်။ အတွေ့အကြုံ မလိုပါ။ Telegram မှ ဆက်သွယ်ပါ။"),
    ("my-honest-1", "my", "honest_ad",
     "ရန်ကုန်မြို့ရှိ ဘဏ်တစ်ခုတွင် စာရင်းကိုင် ခေါ်ယူပါသည်။ B.Com ဘွဲ့ရ ဖြစ်ရမည်။ "
     "ကိုယ်ရေးရာဇဝင်ကို ဘဏ်ရုံးသို့ တိုက်ရိုက် လာရောက်တင်ပြနိုင်ပါသည်။"),
    # ---- km
    ("km-ad-1", "km", "compound_ad",
     "ត្រូវការបុគ្គលិកបម្រើអតិថិជនអនឡាញជាបន្ទាន់ នៅក្រុងព្រះសីហនុ ប្រាក់ខែ ១០០០-២០០០ ដុល្លារ "
     "មានកន្លែងស្នាក់នៅ និងអាហារឥតគិតថ្លៃ មិនត្រូវការបទពិសោធន៍ ទាក់ទងតាម Telegram ភ្លាមៗ"),
    ("km-honest-1", "km", "honest_ad",
     "ធនាគារ ABA ត្រូវការបុគ្គលិកផ្នែកគណនេយ្យ នៅភ្នំពេញ តម្រូវឱ្យមានបរិញ្ញាបត្រផ្នែកហិរញ្ញវត្ថុ។ "
     "សូមដាក់ពាក្យតាមគេហទំព័រផ្លូវការរបស់ធនាគារ។"),
    # ---- lo
    ("lo-ad-1", "lo", "compound_ad",
     "ຮັບສະໝັກພະນັກງານດ່ວນ ເຮັດວຽກຢູ່ເຂດເສດຖະກິດພິເສດສາມຫຼ່ຽມຄຳ ເງິນເດືອນ 1.000-1.500 ໂດລາ ມີທີ່ພັກ ແລະ ອາຫານຟຣີ "
     "ບໍ່ຕ້ອງມີປະສົບການ ພິມຄອມໄດ້ກໍພໍ ຕິດຕໍ່ທາງ WhatsApp ດຽວນີ້"),
    ("lo-honest-1", "lo", "honest_ad",
     "ທະນາຄານການຄ້າຕ່າງປະເທດລາວ ຮັບສະໝັກພະນັກງານບັນຊີ ປະຈຳນະຄອນຫຼວງວຽງຈັນ ຜູ້ສະໝັກຕ້ອງມີປະລິນຍາຕີດ້ານບັນຊີ "
     "ຍື່ນໃບສະໝັກຜ່ານເວັບໄຊທາງການ"),
    # ---- ko
    ("ko-ad-1", "ko", "compound_ad",
     "캄보디아 고수익 해외 취업! 고객 상담 업무, 월 500~800만원 보장, 숙소·식사 무료 제공, 항공권 지원. 경력 무관, "
     "타자만 가능하면 OK. 텔레그램으로 지금 바로 연락 주세요."),
    ("ko-honest-1", "ko", "honest_ad",
     "삼성전자 DS부문에서 반도체 공정 엔지니어를 채용합니다. 관련 전공 학사 이상, 채용 절차는 삼성 채용 홈페이지를 "
     "통해서만 진행됩니다."),
    # ---- ja
    ("ja-ad-1", "ja", "compound_ad",
     "【急募】カンボジアで高収入のお仕事！カスタマーサポート、月給50万〜80万円、寮・食事無料、航空券・ビザは会社負担。"
     "未経験OK、パソコン入力ができればOK。詳細はテレグラムまで今すぐ連絡を！"),
    ("ja-honest-1", "ja", "honest_ad",
     "トヨタ自動車株式会社では、生産技術エンジニアを募集しています。理工系の大学卒業以上、経験3年以上。"
     "応募は当社採用サイトからお願いします。"),
    # ---- edge cases: truncation (>128 tokens), emoji/obfuscation, full-width + ZWSP, title+body form
    ("en-long-1", "en", "compound_ad",
     "Customer Service Executive (Overseas)\n" + " ".join([
         "Join our fast-growing online team in Southeast Asia.",
         "We are looking for young, energetic people who can type fast and chat with customers online.",
         "Salary from $1,500 to $3,000 per month plus high commission and bonuses every week.",
         "Free accommodation in a modern building with gym and canteen, three meals a day provided.",
         "The company pays your flight ticket and will process your work visa after arrival.",
         "No experience is needed, full training is given.",
         "You only need a passport and basic English.",
         "Interviews this week only, send your photo and passport copy on Telegram to @hr_global_team.",
         "Limited positions, first come first served, depart within 7 days.",
     ])),
    ("zh-long-1", "zh", "honest_ad",
     "行政专员\n" + "岗位职责：1、负责公司日常行政事务，包括办公用品采购、会议安排及接待工作；2、协助人事部门办理员工入职、"
     "离职手续，维护员工档案；3、负责公司固定资产管理与盘点；4、完成上级交办的其他工作。任职要求：1、大专及以上学历，"
     "行政管理等相关专业优先；2、一年以上行政工作经验；3、熟练使用办公软件，具备良好的沟通协调能力。薪资待遇：4500-6000元/月，"
     "五险一金，周末双休，法定节假日休息。工作地点：北京市朝阳区。"),
    ("en-emoji-1", "en", "compound_ad",
     "💰 W0rk in KH 🇰🇭 💵 $2k/mo 🏠 free 🍜 free ✈️ paid 🛂 visa ok ❌ no exp 📲 T.e.l.e.g.r.a.m: @jobs_kh"),
    ("zh-fullwidth-1", "zh", "compound_ad",
     "【缅甸妙瓦底】招聘网络客服\u200b，月薪２００００＋，包吃住，报机票，无经验可，联系ｔｅｌｅｇｒａｍ：＠ｍｗｄ＿ｈｒ"),
]
