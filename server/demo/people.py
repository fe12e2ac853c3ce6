"""Made-up residents of Wuwei: names, resident ID numbers, phone numbers, addresses."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from server.validation import id_number_check_digit


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Common surnames of the Hexi Corridor, most frequent first (马 is common among Hui and Han).
SURNAMES = (
    "王李张刘马陈杨赵徐魏何孙郭朱冯蔡胡高罗董柴段蒋田范祁雷贾韩吴苏梁石白闫任程许"
    "谢唐宋沈曹袁邓彭吕卢丁姚潘余杜戴夏钟汪付金崔侯邵孟龙万雍晏俞"
)
# Given names by generation: born before about 1975, at any time, after about 1988.
MALE_GIVEN: tuple[tuple[str, ...], ...] = (
    _words(
        "建国 建军 国栋 国庆 国华 国强 红军 卫东 学军 兴国 振华 成军 多福 有才 有福 得福 "
        "长寿 进财 万福 春生 春林 永福 玉林 玉成 玉堂 德明 天宝 新华"
    ),
    _words(
        "志强 海军 文斌 彦龙 明 军 强 伟 涛 斌 勇 杰 鹏 磊 刚 辉 平 林 东 生 忠 荣 "
        "建华 兴旺 永平 永军 永强 宏伟 晓东 晓军 继红 继军 小龙"
    ),
    _words("浩然 子轩 宇航 俊杰 博文 鹏飞 宏涛 家豪 子豪 嘉乐 一鸣 天佑"),
)
FEMALE_GIVEN: tuple[tuple[str, ...], ...] = (
    _words(
        "秀兰 秀英 桂兰 玉兰 玉梅 玉珍 淑芳 春花 菊花 金花 凤英 凤琴 月琴 爱琴 爱萍 "
        "翠兰 翠英 兰英 桂英 建华"
    ),
    _words(
        "丽娟 晓燕 红梅 明霞 雪梅 海燕 兰 芳 静 丽 霞 燕 娟 梅 敏 丹 莉 萍 红 艳 "
        "慧 文静 晓丽 小红 小梅 彩霞 彩云"
    ),
    _words("欣怡 雨涵 梓涵 佳怡 婷 琳 思雨 雅琪 梦瑶 诗涵 紫萱"),
)
# Tianzhu is a Tibetan autonomous county; Tibetan names carry no surname.
TIBETAN_MALE = _words(
    "扎西 多杰 才让 桑杰 旦正 尕藏 索南 贡保 更登 扎西才让 多杰才让 才让东知 旦增 "
    "华旦 嘉措 拉加 仁青 完玛 东知 尼玛"
)
TIBETAN_FEMALE = _words(
    "卓玛 拉毛 才让卓玛 央金 德吉 吉毛 卓玛草 拉毛吉 措毛 才措 曲措 仁青卓玛 梅朵"
)
PHONE_PREFIXES = _words(
    "133 135 136 137 138 139 150 151 152 153 157 158 159 173 177 180 181 182 183 "
    "186 187 188 189 191 193 199"
)
CHINESE_DIGITS = "一二三四五六七八九十"
VILLAGE_STEMS = _words(
    "新华 红星 光明 上沟 下沟 东湖 西湖 中营 五坝 新沟 永和 团结 幸福 四坝 沙河 "
    "三岔 新建 红光 东河 西河 南湖 北沙 双树 金星 和平 上营 下营 中滩 新庄 杨家"
)
TOWN_STREETS = _words("东大街 西大街 南大街 北大街 北关中路 南关中路 东关街 西关街 宣武街 荣华街")


@dataclass(frozen=True)
class Person:
    """A made-up resident."""

    name: str
    male: bool
    tibetan: bool
    born: dt.date
    id_number: str
    phone: str


class People:
    """Draws residents from a seeded random generator (so the demo is the same every time)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def name(self, male: bool, tibetan: bool = False, born: int = 1975) -> str:
        """A realistic full name for someone born in ``born``."""
        if tibetan:
            return self.rng.choice(TIBETAN_MALE if male else TIBETAN_FEMALE)
        # Frequent surnames first: a triangular draw favours the start of the list.
        index = int(self.rng.triangular(0, len(SURNAMES), 0))
        old, any_time, young = MALE_GIVEN if male else FEMALE_GIVEN
        given = any_time + (old if born < 1975 else ()) + (young if born >= 1988 else ())
        return SURNAMES[min(index, len(SURNAMES) - 1)] + self.rng.choice(given)

    def person(
        self,
        county_code: str,
        old_area: str,
        *,
        male: bool | None = None,
        born_from: int = 1950,
        born_to: int = 2000,
        tibetan_share: float = 0.0,
    ) -> Person:
        """A resident of the county, with an ID number that passes the GB 11643 check."""
        rng = self.rng
        is_male = rng.random() < 0.55 if male is None else male
        tibetan = rng.random() < tibetan_share
        born = dt.date(rng.randint(born_from, born_to), 1, 1) + dt.timedelta(
            days=rng.randint(0, 364)
        )
        # ID cards first issued before 2001 keep the old 武威地区 code (6223xx).
        area = old_area if born.year < 1985 or rng.random() < 0.3 else county_code
        seq = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if is_male else (0, 2, 4, 6, 8))
        first17 = f"{area}{born:%Y%m%d}{seq:03d}"
        return Person(
            name=self.name(is_male, tibetan, born.year),
            male=is_male,
            tibetan=tibetan,
            born=born,
            id_number=first17 + id_number_check_digit(first17),
            phone=self.phone(),
        )

    def phone(self) -> str:
        """A mobile number."""
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"

    def landline(self) -> str:
        """A Wuwei landline (area code 0935)."""
        return f"0935-{self.rng.randint(2_200_000, 6_999_999)}"

    def village(self) -> str:
        """A village name for an address."""
        return self.rng.choice(VILLAGE_STEMS) + "村"

    def rural_address(self, county: str, township: str, village: str | None = None) -> str:
        """An address in a village: county, township, village, group (组)."""
        group = CHINESE_DIGITS[self.rng.randint(0, 9)]
        return f"{county}{township}{village or self.village()}{group}组"

    def town_address(self, county: str, township: str) -> str:
        """An address in town: a street, a compound, a building and a flat."""
        rng = self.rng
        street = (
            rng.choice(TOWN_STREETS)
            if county == "凉州区"
            else f"{township}{rng.choice(('东街', '西街', '南街', '北街'))}"
        )
        flat = f"{rng.randint(1, 6)}0{rng.randint(1, 4)}"
        return (
            f"{county}{street}{rng.randint(1, 299)}号"
            f"{rng.randint(1, 12)}号楼{rng.randint(1, 4)}单元{flat}室"
        )
